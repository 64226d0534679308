using System.Net;

namespace Prox.Actors.Net;

/// <summary>
/// The outgoing HTTP that Prox does for itself (health probes, recovery actions, webhooks), never through the
/// request path's pool: a client with its own connections, no proxy, no redirects, no cookies, and no client-wide
/// timeout (each call brings its own).
/// </summary>
public static class OwnHttp
{
    public static HttpClient CreateClient(TimeSpan? connectTimeout = null) =>
        new(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = connectTimeout ?? Timeout.InfiniteTimeSpan,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    /// <summary>Says why a request failed in words an operator reads in an event or on <c>/status</c>.</summary>
    public static string Describe(HttpRequestException e) => e.HttpRequestError switch
    {
        HttpRequestError.ConnectionError => "connection failed",
        HttpRequestError.ResponseEnded => "connection closed before a response",
        HttpRequestError.InvalidResponse => "invalid HTTP response",
        HttpRequestError.NameResolutionError => "host name not found",
        HttpRequestError.SecureConnectionError => "TLS handshake failed",
        _ => e.Message,
    };
}
