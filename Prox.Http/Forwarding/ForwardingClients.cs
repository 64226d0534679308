using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Prox.Http.Forwarding;

/// <summary>
/// Outgoing connection pools, one per distinct connect timeout (the only per-route handler setting),
/// configured as YARP recommends for proxies: no cookies, redirects, decompression or system proxy. Idle pooled
/// connections close after <see cref="IdleTimeout"/>, before the backend's own keep-alive timeout closes them under a
/// request (see <see cref="StaleConnection"/>).
/// </summary>
public sealed class ForwardingClients : IDisposable
{
    /// <summary>Below the shortest common origin keep-alive timeout (Node.js and Apache: 5 s; nginx 75 s, Kestrel
    /// 130 s), so a pooled connection is ours to close; a busy pool keeps its connections, as none idles that long.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(4);

    private readonly ConcurrentDictionary<TimeSpan, HttpMessageInvoker> _clients = new();
    private readonly ConcurrentDictionary<TimeSpan, HttpMessageInvoker> _fresh = new();

    public HttpMessageInvoker For(TimeSpan connectTimeout) => _clients.GetOrAdd(connectTimeout, static t => Create(t, IdleTimeout, null));

    /// <summary>A client whose every request opens a connection of its own and closes it after: for the one resend of
    /// a request whose pooled connection the backend had closed (another pooled one may be just as stale).</summary>
    public HttpMessageInvoker Fresh(TimeSpan connectTimeout) =>
        _fresh.GetOrAdd(connectTimeout, static t => Create(t, IdleTimeout, TimeSpan.Zero));

    private static HttpMessageInvoker Create(TimeSpan connectTimeout, TimeSpan idle, TimeSpan? lifetime) => new(new SocketsHttpHandler
    {
        PooledConnectionIdleTimeout = idle,
        PooledConnectionLifetime = lifetime ?? Timeout.InfiniteTimeSpan,
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = connectTimeout,
        ActivityHeadersPropagator = new Yarp.ReverseProxy.Forwarder.ReverseProxyPropagator(DistributedContextPropagator.Current),
    }, disposeHandler: true);

    public void Dispose()
    {
        foreach (var c in _clients.Values.Concat(_fresh.Values)) c.Dispose();
        _clients.Clear();
        _fresh.Clear();
    }
}
