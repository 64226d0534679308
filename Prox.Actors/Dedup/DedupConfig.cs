using System.Collections.Immutable;

namespace Prox.Actors.Dedup;

/// <summary>What a coalescing key is made of (besides the configured request headers).</summary>
[Flags]
public enum DedupKeyParts
{
    None = 0,
    Method = 1,
    Host = 2,
    Path = 4,
    Query = 8,
}

/// <summary>
/// <c>routes.&lt;r&gt;.dedup</c>: request coalescing. The first request for a key leads (is forwarded); identical
/// requests that arrive while it is in flight follow and get a copy of its response.
/// </summary>
/// <param name="Enabled">Off = the route pays nothing (no key, no actor hop).</param>
/// <param name="Methods">Methods that may coalesce, upper-case (GET and HEAD; POST only with <paramref name="Post"/>).</param>
/// <param name="Key">Request parts in the key.</param>
/// <param name="Headers">Request headers whose values are part of the key (names as configured).</param>
/// <param name="MaxBody">Largest response body shared with followers; a larger one sends them their own way.</param>
/// <param name="Window">The longest a follower waits for its leader before it goes its own way.</param>
public sealed record DedupConfig(
    bool Enabled,
    ImmutableArray<string> Methods,
    DedupKeyParts Key,
    ImmutableArray<string> Headers,
    long MaxBody,
    TimeSpan Window)
{
    /// <summary>Opt-in: POST requests coalesce too, with a SHA-256 of their body in the key. Only POSTs with a
    /// <c>Content-Length</c> up to <see cref="MaxBody"/> qualify (the body is buffered to be hashed).</summary>
    public bool Post { get; init; }

    public static readonly DedupConfig Default = new(
        true, ["GET", "HEAD"], DedupKeyParts.Method | DedupKeyParts.Host | DedupKeyParts.Path | DedupKeyParts.Query,
        [], 1L << 20, TimeSpan.FromSeconds(10));
}
