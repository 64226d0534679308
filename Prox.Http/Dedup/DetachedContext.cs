using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Prox.Http.Dedup;

/// <summary>
/// A copy of a leader's request on a context of its own. YARP ties the backend exchange to the context's
/// <c>RequestAborted</c>; a leader forwarded on its real context would take its followers' response down with it
/// when its client leaves. On this context nothing aborts the exchange but the route's own timeouts, and the
/// response goes to a <see cref="LeaderTee"/> that writes it on to the real client while that client is there.
/// </summary>
internal static class DetachedContext
{
    /// <param name="body">A coalescing POST's buffered body; null = the request has none.</param>
    public static HttpContext Create(HttpContext real, LeaderTee tee, byte[]? body, out Lifetime lifetime)
    {
        var req = real.Request;
        var headers = new HeaderDictionary();
        foreach (var (name, value) in req.Headers) headers[name] = value;
        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(new HttpRequestFeature
        {
            Protocol = req.Protocol,
            Scheme = req.Scheme,
            Method = req.Method,
            PathBase = req.PathBase.Value ?? "",
            Path = req.Path.Value ?? "",
            QueryString = req.QueryString.Value ?? "",
            RawTarget = real.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "",
            Headers = headers,
            Body = body is null ? Stream.Null : new MemoryStream(body, writable: false),
        });
        features.Set<IHttpRequestBodyDetectionFeature>(body is { Length: > 0 } ? HasBody.Instance : NoBody.Instance);
        features.Set<IHttpResponseFeature>(new Response(tee));
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(tee));
        lifetime = new Lifetime();
        features.Set<IHttpRequestLifetimeFeature>(lifetime);
        var conn = real.Connection;
        features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            ConnectionId = conn.Id,
            RemoteIpAddress = conn.RemoteIpAddress,
            RemotePort = conn.RemotePort,
            LocalIpAddress = conn.LocalIpAddress,
            LocalPort = conn.LocalPort,
        });
        features.Set<IServiceProvidersFeature>(new ServiceProvidersFeature { RequestServices = real.RequestServices });
        return new DefaultHttpContext(features) { TraceIdentifier = real.TraceIdentifier };
    }

    /// <summary>Never cancelled; records an <see cref="Abort"/> (YARP aborts when a response breaks off mid-body).</summary>
    internal sealed class Lifetime : IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted { get; set; }

        public bool Aborted { get; private set; }

        public void Abort() => Aborted = true;
    }

    private sealed class NoBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly NoBody Instance = new();

        public bool CanHaveBody => false;
    }

    private sealed class HasBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly HasBody Instance = new();

        public bool CanHaveBody => true;
    }

    /// <summary>Started once the tee has sent the status line on, so nothing rewrites a response already on its way.</summary>
    private sealed class Response(LeaderTee tee) : HttpResponseFeature
    {
        public override bool HasStarted => tee.Started;
    }
}
