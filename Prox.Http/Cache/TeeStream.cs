namespace Prox.Http.Cache;

/// <summary>
/// Passes a response body through to the client and keeps a copy of it, up to a limit: beyond it the copy is
/// dropped (the response is still streamed, just not stored).
/// </summary>
internal sealed class TeeStream(Stream inner, long limit) : Stream
{
    private MemoryStream? _copy = new();

    /// <summary>The whole body, or null when it was larger than the limit.</summary>
    public byte[]? Captured => _copy?.ToArray();

    private void Keep(ReadOnlySpan<byte> data)
    {
        if (_copy is null) return;
        if (_copy.Length + data.Length > limit)
        {
            _copy = null;
            return;
        }
        _copy.Write(data);
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        Keep(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Keep(buffer.AsSpan(offset, count));
        return inner.WriteAsync(buffer, offset, count, cancellationToken);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Keep(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
