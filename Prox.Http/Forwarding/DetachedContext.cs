using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Prox.Http.Forwarding;

/// <summary>
/// A copy of a client's request on a context of its own, for a forward that must outlive that client: a coalescing
/// leader's (its followers wait on the response) and a cache's background refresh (it runs after the client's
/// response is done). YARP ties the backend exchange to the context's <c>RequestAborted</c>; on this context nothing
/// aborts it but the route's own timeouts, and the response goes to the stream the caller gives.
/// </summary>
public static class DetachedContext
{
    /// <param name="real">The client's context; what the copy needs is read now, as the client may leave.</param>
    /// <param name="responseBody">Where the response body goes.</param>
    /// <param name="lifetime">Records whether YARP aborted the copy (a response broken off mid-body).</param>
    /// <param name="body">A buffered request body; null = the request has none.</param>
    /// <param name="method">The method of the copy; null = the client's.</param>
    /// <param name="skipHeaders">Request headers not copied; null = all are.</param>
    /// <param name="started">Whether the response has started (a tee that passed the status line on), so nothing
    /// rewrites a response already on its way; null = never.</param>
    public static HttpContext Create(HttpContext real, Stream responseBody, out Lifetime lifetime, byte[]? body = null,
        string? method = null, IReadOnlySet<string>? skipHeaders = null, Func<bool>? started = null)
    {
        var req = real.Request;
        var headers = new HeaderDictionary();
        foreach (var (name, value) in req.Headers)
            if (skipHeaders is null || !skipHeaders.Contains(name)) headers[name] = value;
        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(new HttpRequestFeature
        {
            Protocol = req.Protocol,
            Scheme = req.Scheme,
            Method = method ?? req.Method,
            PathBase = req.PathBase.Value ?? "",
            Path = req.Path.Value ?? "",
            QueryString = req.QueryString.Value ?? "",
            RawTarget = real.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "",
            Headers = headers,
            Body = body is null ? Stream.Null : new MemoryStream(body, writable: false),
        });
        features.Set<IHttpRequestBodyDetectionFeature>(body is { Length: > 0 } ? HasBody.Instance : NoBody.Instance);
        features.Set<IHttpResponseFeature>(new Response(started));
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(responseBody));
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
    public sealed class Lifetime : IHttpRequestLifetimeFeature
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

    private sealed class Response(Func<bool>? started) : HttpResponseFeature
    {
        public override bool HasStarted => started?.Invoke() ?? false;
    }
}
