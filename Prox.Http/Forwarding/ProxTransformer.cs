using System.Collections.Immutable;
using System.Net;
using Microsoft.Extensions.ObjectPool;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Prox.Actors.Routing;
using Prox.Actors.Selection;
using Prox.Http.Hygiene;
using Prox.Http.Pipeline;
using Yarp.ReverseProxy.Forwarder;

namespace Prox.Http.Forwarding;

/// <summary>
/// Per-request header and URL rewriting, layered on YARP's default transformer (which already drops the
/// standard hop-by-hop headers). One instance serves all attempts of one request, and holds the attempt's state the
/// forwarder needs across its awaits. Instances are pooled: <see cref="Rent"/> when a forward starts, <see cref="Return"/>
/// when it has ended (YARP holds it only during <c>SendAsync</c>).
/// </summary>
internal sealed class ProxTransformer : HttpTransformer
{
    private static readonly ObjectPool<ProxTransformer> Pool =
        new DefaultObjectPool<ProxTransformer>(new DefaultPooledObjectPolicy<ProxTransformer>(), 1024);

    private const string XForwardedFor = "X-Forwarded-For";
    private const string XForwardedProto = "X-Forwarded-Proto";
    private const string XForwardedHost = "X-Forwarded-Host";
    private const string XBackendUsed = "X-Backend-Used";
    internal const string XCache = "X-Cache";

    private RouteSnapshot _route = null!;
    private string _matchedPrefix = "";
    private string _requestId = "";
    private bool _trustedPeer;

    /// <summary>A transformer for one forward of <paramref name="pc"/>'s request.</summary>
    public static ProxTransformer Rent(ProxyContext pc, string? cacheLabel, Revalidation? revalidate, ImmutableArray<int> holdBackAlways)
    {
        var t = Pool.Get();
        t._route = pc.Snapshot;
        t._matchedPrefix = pc.Prefix;
        t._requestId = pc.RequestId;
        t._trustedPeer = pc.Trusted;
        t.CacheLabel = cacheLabel;
        t.Revalidate = revalidate;
        t.HoldBackAlways = holdBackAlways;
        t.Tried = default;
        return t;
    }

    /// <summary>Back to the pool, holding nothing of the request.</summary>
    public void Return()
    {
        _route = null!;
        _matchedPrefix = _requestId = "";
        CacheLabel = null;
        Revalidate = null;
        Backend = null;
        Timer = null;
        Trial = null;
        OriginalBody = null;
        HoldBackStatuses = default;
        HoldBackAlways = default;
        Pool.Return(this);
    }

    /// <summary>The half-open permits the current attempt holds, when it is a breaker trial.</summary>
    public Prox.Actors.Breaker.HalfOpenPermits? Trial { get; set; }

    /// <summary>Statuses held back even on the last attempt (see <see cref="Forwarder.ForwardAsync"/>).</summary>
    public ImmutableArray<int> HoldBackAlways { get; private set; }

    /// <summary>The backends this forward has tried (a field, so the forwarder can pass it by reference).</summary>
    public TriedSet Tried;

    /// <summary>When the forward started (<see cref="System.Diagnostics.Stopwatch"/> ticks): its budget counts from here.</summary>
    public long Started { get; set; }

    /// <summary>The request body the current attempt replaced with a watched one; put back when the attempt ends.</summary>
    public Stream? OriginalBody { get; set; }

    /// <summary>When the current attempt started (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
    public long AttemptStarted { get; set; }

    /// <summary>The <c>X-Cache</c> value (MISS, BYPASS) put on the backend's response; null on routes without a cache.</summary>
    public string? CacheLabel { get; set; }

    /// <summary>An expired cache entry to revalidate: its validators go on the request, and a 304 answer is kept
    /// here (not sent) so the handler can serve the entry. Null unless the cache revalidates.</summary>
    public Revalidation? Revalidate { get; set; }

    /// <summary>The backend of the current attempt.</summary>
    public BackendEntry? Backend { get; set; }

    /// <summary>When set, a response with one of these statuses is held back (not sent) so the request can retry.</summary>
    public ImmutableArray<int> HoldBackStatuses { get; set; }

    /// <summary>The current attempt's header and idle limits beyond YARP's activity timeout; null when it has none.</summary>
    public AttemptTimer? Timer { get; set; }

    /// <summary>The status of a response held back in the last attempt, or 0.</summary>
    public int HeldBackStatus { get; private set; }

    /// <summary>The status the backend answered in the last attempt, or 0 if it did not answer.</summary>
    public int BackendStatus { get; private set; }

    public void BeginAttempt(BackendEntry backend, ImmutableArray<int> holdBack)
    {
        Backend = backend;
        HoldBackStatuses = holdBack;
        HeldBackStatus = 0;
        BackendStatus = 0;
    }

    public override async ValueTask TransformRequestAsync(HttpContext ctx, HttpRequestMessage proxyRequest,
        string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(ctx, proxyRequest, destinationPrefix, cancellationToken);
        var req = ctx.Request;

        RemoveConnectionNominated(req.Headers.Connection, proxyRequest.Headers, proxyRequest.Content?.Headers);

        // added unparsed, a preserved Host costs no parsed-value object (the typed setter would make one)
        proxyRequest.Headers.Remove("Host");
        if (_route.Config.PreserveHost && req.Host.Value is { Length: > 0 } host)
            proxyRequest.Headers.TryAddWithoutValidation("Host", host);

        var peerText = PeerText(ctx.Connection.RemoteIpAddress);
        proxyRequest.Headers.Remove(XForwardedFor);
        proxyRequest.Headers.Remove(XForwardedProto);
        proxyRequest.Headers.Remove(XForwardedHost);
        proxyRequest.Headers.Remove(RequestIds.Header);
        // from an untrusted peer the incoming X-Forwarded-* are forgeries: start the chain afresh
        proxyRequest.Headers.TryAddWithoutValidation(XForwardedFor,
            Chain(_trustedPeer ? req.Headers[XForwardedFor] : StringValues.Empty, peerText));
        proxyRequest.Headers.TryAddWithoutValidation(XForwardedProto,
            Chain(_trustedPeer ? req.Headers[XForwardedProto] : StringValues.Empty, TransportScheme(ctx)));
        proxyRequest.Headers.TryAddWithoutValidation(XForwardedHost,
            Chain(_trustedPeer ? req.Headers[XForwardedHost] : StringValues.Empty, req.Host.Value ?? ""));
        proxyRequest.Headers.TryAddWithoutValidation(RequestIds.Header, _requestId);

        var path = req.Path;
        if (_route.Config.StripPrefix && _matchedPrefix.Length > 1)
        {
            var rest = path.Value!.Substring(_matchedPrefix.Length);
            path = new PathString(rest.Length == 0 || rest[0] != '/' ? "/" + rest : rest);
        }
        proxyRequest.RequestUri = RequestUtilities.MakeDestinationAddress(destinationPrefix, path, req.QueryString);

        if (Revalidate is { } r)
        {
            if (r.ETag is { } etag)
                proxyRequest.Headers.TryAddWithoutValidation("If-None-Match", etag);
            else if (r.LastModified is { } lm)
                proxyRequest.Headers.TryAddWithoutValidation("If-Modified-Since", lm.ToString("r", System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext ctx, HttpResponseMessage? proxyResponse,
        CancellationToken cancellationToken)
    {
        if (proxyResponse is null) return false; // forwarding failed; the handler writes the problem response
        var status = (int)proxyResponse.StatusCode;
        // an upgraded (WebSocket) connection is copied both ways by YARP, under its activity timeout alone
        var upgraded = status == StatusCodes.Status101SwitchingProtocols || HttpMethods.IsConnect(ctx.Request.Method);
        Timer?.HeadersArrived(watchBody: !upgraded);

        BackendStatus = status;
        if (Revalidate is { } r && status == StatusCodes.Status304NotModified)
        {
            r.Answer(proxyResponse);
            ctx.Response.Clear();
            return false;
        }
        if (!HoldBackStatuses.IsDefaultOrEmpty && HoldBackStatuses.Contains(status))
        {
            HeldBackStatus = status;
            ctx.Response.Clear(); // YARP already copied the status line; nothing has been sent
            return false;
        }

        await base.TransformResponseAsync(ctx, proxyResponse, cancellationToken);
        // headers are copied: the body is read from here on, under the idle limit when it is shorter than YARP's
        if (Timer is { WatchesIdle: true } timer && !upgraded)
            proxyResponse.Content = new WatchedContent(proxyResponse.Content, timer);
        var headers = ctx.Response.Headers;
        // the unparsed values: no HttpHeaderValueCollection, and a bare keep-alive/close costs nothing
        if (proxyResponse.Headers.NonValidated.TryGetValues("Connection", out var connection))
            foreach (var value in connection)
                foreach (var range in value.AsSpan().Split(','))
                {
                    var token = value.AsSpan()[range].Trim();
                    if (IsNominatable(token)) headers.Remove(token.ToString());
                }
        headers[RequestIds.Header] = _requestId;
        if (_route.Config.BackendHeader && Backend is not null)
            headers[XBackendUsed] = Backend.Id;
        if (CacheLabel is { } label)
            headers[XCache] = label;
        return true;
    }

    /// <summary>RFC 9110 §7.6.1: every header the Connection header names is hop-by-hop too.</summary>
    private static void RemoveConnectionNominated(StringValues connection, HttpHeaders headers, HttpHeaders? contentHeaders)
    {
        foreach (var value in connection)
        {
            if (value is null) continue;
            foreach (var range in value.AsSpan().Split(','))
            {
                var token = value.AsSpan()[range].Trim();
                if (!IsNominatable(token)) continue;
                // only a name that was really nominated allocates (rare: the common value is a bare keep-alive)
                var name = token.ToString();
                // NonValidated.Contains never throws; Remove would for a name that belongs to the other collection
                if (headers.NonValidated.Contains(name)) headers.Remove(name);
                if (contentHeaders is not null && contentHeaders.NonValidated.Contains(name)) contentHeaders.Remove(name);
            }
        }
    }

    /// <summary>A Connection token that names a header to drop. Not the connection options (<c>keep-alive</c>,
    /// <c>close</c>: no header of that name; <c>upgrade</c>: YARP handles the Upgrade header itself), and never message
    /// framing or Host on a peer's say-so: that is how requests get smuggled.</summary>
    private static bool IsNominatable(ReadOnlySpan<char> token) =>
        token.Length > 0
        && !ConnectionHeaderCapture.IsOption(token)
        && !token.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        && !token.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
        && !token.Equals("Host", StringComparison.OrdinalIgnoreCase);

    /// <summary>"https" when the client's connection did a TLS handshake, else "http": what the connection is, not the
    /// scheme a client claims (an HTTP/2 <c>:scheme</c>, which Kestrel takes as it is; see <c>PriorKnowledge</c>).</summary>
    internal static string TransportScheme(HttpContext ctx) =>
        ctx.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>() is null ? "http" : "https";

    // the last peer address this thread wrote, and its text: clients send many requests (and open many connections)
    // from one address, so most requests reuse the string instead of formatting a new one
    [ThreadStatic] private static IPAddress? _lastPeer;
    [ThreadStatic] private static string? _lastPeerText;

    /// <summary>The peer's address as X-Forwarded-For has it (IPv4 for an IPv4-mapped IPv6 address).</summary>
    internal static string PeerText(IPAddress? peer)
    {
        if (peer is null) return "unknown";
        if (_lastPeerText is { } text && peer.Equals(_lastPeer)) return text;
        text = (peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer).ToString();
        (_lastPeer, _lastPeerText) = (peer, text);
        return text;
    }

    private static string Chain(StringValues existing, string value) =>
        StringValues.IsNullOrEmpty(existing) ? value : string.Join(", ", existing.ToArray()) + ", " + value;
}
