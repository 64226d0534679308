using Microsoft.AspNetCore.Http;
using Prox.Http.Errors;
using Prox.Http.Pipeline;

namespace Prox.Http.Forwarding;

/// <summary>How a forward ended when no backend response reached the client.</summary>
public enum ProxyFailureKind
{
    /// <summary>No failure: the backend's response went (or is going) to the client.</summary>
    None,
    /// <summary>The client left or broke its request; there is nobody to answer.</summary>
    Client,
    /// <summary>No backend could be reached (502).</summary>
    Connect,
    /// <summary>The route's or backend's timeout ran out (504).</summary>
    Timeout,
    /// <summary>Every backend tried answered a status held back for a retry (see <see cref="ProxyFailure.HeldBackStatus"/>).</summary>
    HeldBackStatus,
    /// <summary>A backend broke the protocol (502).</summary>
    Upstream,
    /// <summary>The request body outgrew the limit while it was streamed (413).</summary>
    TooLarge,
    /// <summary>The route has no backend the request may use (503 with <c>Retry-After</c>).</summary>
    NoBackend,
}

/// <summary>
/// The result of <see cref="Forwarder.ForwardAsync"/>: <see cref="ProxyFailureKind.None"/> when the backend's response
/// went to the client, otherwise what Prox answers instead, written by <see cref="WriteAsync"/>. A coalescing leader
/// shares it with its followers, who each answer it with their own request id.
/// </summary>
/// <param name="HeldBackStatus">With <see cref="ProxyFailureKind.HeldBackStatus"/>: the status every backend tried answered.</param>
public readonly record struct ProxyFailure(ProxyFailureKind Kind, int HeldBackStatus = 0)
{
    /// <summary>The backend's response went to the client.</summary>
    public bool IsNone => Kind == ProxyFailureKind.None;

    /// <summary>A failure Prox answers itself (502, 503, 504, 413); not a client that left.</summary>
    public bool IsProxFailure => Kind is not (ProxyFailureKind.None or ProxyFailureKind.Client);

    /// <summary>Answers this failure with a problem response (nothing when the client left or the response had
    /// already started).</summary>
    /// <param name="headers">Extra response headers (e.g. <c>X-Coalesced</c>).</param>
    public Task WriteAsync(ProxyContext ctx, params (string Name, string Value)[] headers)
    {
        var http = ctx.Http;
        var requestId = ctx.RequestId;
        switch (Kind)
        {
            case ProxyFailureKind.None or ProxyFailureKind.Client:
                return Task.CompletedTask;
            case ProxyFailureKind.NoBackend:
                var snap = ctx.Snapshot;
                var retryAfter = 1;
                if (snap.NextReturn is { } next)
                    retryAfter = Math.Max(1, (int)Math.Ceiling((next - DateTimeOffset.UtcNow).TotalSeconds));
                return Problems.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "No healthy backend",
                    $"Every backend of route '{snap.Id}' is unavailable.", requestId, retryAfter, headers: headers);
            case ProxyFailureKind.Timeout:
                return Problems.WriteAsync(http, StatusCodes.Status504GatewayTimeout, "Upstream timeout",
                    "The backend did not respond in time.", requestId, headers: headers);
            case ProxyFailureKind.HeldBackStatus when HeldBackStatus == StatusCodes.Status503ServiceUnavailable:
                return Problems.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "Upstream unavailable",
                    "Every backend tried answered 503.", requestId, retryAfterSeconds: 1, headers: headers);
            case ProxyFailureKind.HeldBackStatus when HeldBackStatus == StatusCodes.Status504GatewayTimeout:
                return Problems.WriteAsync(http, StatusCodes.Status504GatewayTimeout, "Upstream timeout",
                    "Every backend tried answered 504.", requestId, headers: headers);
            case ProxyFailureKind.TooLarge:
                return Problems.WriteAsync(http, StatusCodes.Status413PayloadTooLarge, "Request body too large",
                    "The request body is larger than the configured limit.", requestId, headers: headers);
            case ProxyFailureKind.Connect:
                return Problems.WriteAsync(http, StatusCodes.Status502BadGateway, "Upstream connection failed",
                    "No backend could be reached.", requestId, headers: headers);
            default:
                return Problems.WriteAsync(http, StatusCodes.Status502BadGateway, "Bad gateway",
                    "The backend failed to give a valid response.", requestId, headers: headers);
        }
    }
}
