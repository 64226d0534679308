using System.Collections.Immutable;
using System.Net;

namespace Prox.Http.Forwarding;

/// <summary>The peers whose X-Forwarded-* and X-Request-Id headers Prox believes.</summary>
public sealed class TrustedProxies(ImmutableArray<IPNetwork> networks)
{
    public bool IsTrusted(IPAddress? peer)
    {
        if (peer is null || networks.IsDefaultOrEmpty) return false;
        if (peer.IsIPv4MappedToIPv6) peer = peer.MapToIPv4();
        foreach (var n in networks)
            if (n.Contains(peer)) return true;
        return false;
    }
}
