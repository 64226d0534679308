using System.Net;

namespace Prox.Http.Forwarding;

/// <summary>
/// A body stream YARP copies from, reporting each read to the attempt's <see cref="AttemptTimer"/>: a request body
/// (the upload's end starts the header wait; reads restart the idle limit when the timer watches it) or a response body
/// (reads restart the idle limit). Made only where needed: requests with a body, and responses of routes whose
/// <c>timeouts.idle</c> is shorter than the header wait.
/// </summary>
internal sealed class WatchedStream : Stream
{
    private readonly Stream _inner;
    private readonly AttemptTimer _timer;
    private readonly bool _upload;

    public WatchedStream(Stream inner, AttemptTimer timer, bool upload)
    {
        _inner = inner;
        _timer = timer;
        _upload = upload;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _timer.Touch();
        var read = _inner.ReadAsync(buffer, cancellationToken);
        // YARP reads zero bytes first to wait for data without a buffer: only a real read of 0 is the end
        if (!_upload || buffer.IsEmpty) return read;
        if (!read.IsCompletedSuccessfully) return AwaitUpload(read);
        Ended(read.Result);
        return read;
    }

    private async ValueTask<int> AwaitUpload(ValueTask<int> read)
    {
        var n = await read;
        Ended(n);
        return n;
    }

    private void Ended(int n)
    {
        if (n == 0) _timer.UploadEnded();
        else _timer.Touch();
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        _timer.Touch();
        var n = _inner.Read(buffer, offset, count);
        if (_upload && count > 0) Ended(n);
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    // the request body stays the client's: HttpContext owns it
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_upload) _inner.Dispose();
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => _upload ? default : _inner.DisposeAsync();
}

/// <summary>A backend's response content whose body is read through a <see cref="WatchedStream"/>. Its headers were
/// already copied to the client's response when it is put in place.</summary>
internal sealed class WatchedContent : HttpContent
{
    private readonly HttpContent _inner;
    private readonly AttemptTimer _timer;

    public WatchedContent(HttpContent inner, AttemptTimer timer)
    {
        _inner = inner;
        _timer = timer;
    }

    protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) =>
        new WatchedStream(await _inner.ReadAsStreamAsync(cancellationToken), _timer, upload: false);

    protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _inner.CopyToAsync(stream, context);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        _inner.CopyToAsync(stream, context, cancellationToken);

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}
