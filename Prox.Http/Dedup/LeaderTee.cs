using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Prox.Actors.Routing;
using Prox.Http.Forwarding;

namespace Prox.Http.Dedup;

/// <summary>
/// The response body stream of a leader's <see cref="DetachedContext"/>. At the first write (or flush, or the end
/// of a bodiless response) it takes the status and headers the forwarder and transformer set, sends them to the
/// leader's client with <c>X-Coalesced: leader</c>, and decides whether the response may be shared: not with a
/// <c>Set-Cookie</c>, not with <c>Cache-Control: private</c> or <c>no-store</c>, not beyond <c>max-body</c>. When it
/// may not, the followers are released at once to go their own way. Each write goes to the client (while it is
/// there) and to the buffer (while sharing). A leader whose client has left and whose response nobody needs stops
/// the exchange by failing the write.
/// </summary>
internal sealed class LeaderTee(HttpContext client, Coalescer entry, long maxBody, bool head) : Stream
{
    private MemoryStream? _buffer;
    private List<KeyValuePair<string, string[]>>? _headers;
    private int _status;
    private bool _clientGone;

    /// <summary>The detached context's response, whose status and headers the tee passes on.</summary>
    public HttpResponse Source { get; set; } = null!;

    /// <summary>The status line has been passed on: the response can no longer be replaced.</summary>
    public bool Started { get; private set; }

    /// <summary>Called once the forwarder is done with a complete response: shares it if it is still shareable.</summary>
    public async Task FinishAsync()
    {
        if (!Started) await StartAsync();
        if (_buffer is { } b)
            entry.Share(new SharedResponse(_status, _headers!, new ReadOnlyMemory<byte>(b.GetBuffer(), 0, (int)b.Length)));
        else
            entry.Release();
    }

    private async Task StartAsync()
    {
        Started = true;
        _status = Source.StatusCode;
        var headers = new List<KeyValuePair<string, string[]>>(Source.Headers.Count);
        foreach (var (name, value) in Source.Headers)
            headers.Add(new(name, value.ToArray()!));
        _headers = headers;
        if (Shareable(Source.Headers))
            _buffer = new MemoryStream();
        else
            entry.Release();

        if (client.RequestAborted.IsCancellationRequested)
        {
            _clientGone = true;
            return;
        }
        var resp = client.Response;
        resp.StatusCode = _status;
        foreach (var (name, value) in Source.Headers)
            resp.Headers[name] = value;
        resp.Headers[Coalescing.Header] = "leader";
        try
        {
            await resp.StartAsync(client.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            _clientGone = true;
        }
    }

    private bool Shareable(IHeaderDictionary h)
    {
        if (h.ContainsKey("Set-Cookie")) return false;
        if (HasToken(h.CacheControl, "private") || HasToken(h.CacheControl, "no-store")) return false;
        return head || h.ContentLength is not { } length || length <= maxBody;
    }

    /// <summary>Cache-Control directives are comma-separated tokens, optionally with <c>=value</c>.</summary>
    private static bool HasToken(StringValues values, string token)
    {
        foreach (var value in values)
        {
            if (value is null) continue;
            foreach (var part in value.Split(','))
            {
                var directive = part.AsSpan().Trim();
                var eq = directive.IndexOf('=');
                if (eq >= 0) directive = directive[..eq].TrimEnd();
                if (directive.Equals(token, StringComparison.OrdinalIgnoreCase)) return true;
            }
        }
        return false;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!Started) await StartAsync();
        if (_buffer is { } b)
        {
            if (b.Length + buffer.Length > maxBody)
            {
                // too big to share: the followers go their own way now rather than after the whole body
                _buffer = null;
                entry.Release();
            }
            else
            {
                b.Write(buffer.Span);
            }
        }
        if (!_clientGone)
        {
            try
            {
                await client.Response.Body.WriteAsync(buffer, client.RequestAborted);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                _clientGone = true;
            }
            if (client.RequestAborted.IsCancellationRequested) _clientGone = true;
        }
        if (_clientGone && (_buffer is null || entry.Followers == 0))
        {
            _buffer = null;
            entry.Release();
            throw new OperationCanceledException("the leader's client left and no follower needs the response");
        }
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (!Started) await StartAsync();
        if (_clientGone) return;
        try
        {
            await client.Response.Body.FlushAsync(client.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            _clientGone = true;
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("the leader's response is written asynchronously");

    public override void Flush()
    {
        // nothing buffered here that a synchronous flush could send; FlushAsync passes flushes on
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
