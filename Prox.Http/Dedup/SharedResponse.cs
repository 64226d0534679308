using Prox.Http.Forwarding;

namespace Prox.Http.Dedup;

/// <summary>
/// A leader's response as its followers get it (through the route's <c>Coalescer</c>): the status, the headers the
/// leader's client got (hop-by-hop ones already removed) and the complete body. When <see cref="Failure"/> is a
/// <see cref="ProxyFailure.IsProxFailure">failure of Prox's</see> (no backend reached, timeout, …), each follower
/// answers that same failure with its own request id.
/// </summary>
public sealed record SharedResponse(int Status, IReadOnlyList<KeyValuePair<string, string[]>> Headers, ReadOnlyMemory<byte> Body)
{
    public ProxyFailure Failure { get; init; }
}
