using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Prox.Http.Forwarding;

/// <summary>
/// Outgoing connection pools, one per distinct connect timeout (the only per-route handler setting),
/// configured as YARP recommends for proxies: no cookies, redirects, decompression or system proxy.
/// </summary>
public sealed class ForwardingClients : IDisposable
{
    private readonly ConcurrentDictionary<TimeSpan, HttpMessageInvoker> _clients = new();

    public HttpMessageInvoker For(TimeSpan connectTimeout) => _clients.GetOrAdd(connectTimeout, Create);

    private static HttpMessageInvoker Create(TimeSpan connectTimeout) => new(new SocketsHttpHandler
    {
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
        foreach (var c in _clients.Values) c.Dispose();
        _clients.Clear();
    }
}
