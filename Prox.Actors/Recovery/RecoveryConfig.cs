using System.Collections.Immutable;

namespace Prox.Actors.Recovery;

/// <summary>
/// A backend's recovery action: what Prox runs when the backend has been down for <see cref="After"/>,
/// and how often it tries again. The route's <c>recovery</c> block with the backend's own keys already
/// merged over it. Exactly one of <see cref="Http"/> and <see cref="Command"/> is set in a validated config.
/// </summary>
/// <remarks>Config-file only: the admin API can never set it, because a command runs as Prox's user.</remarks>
public sealed record RecoveryConfig
{
    /// <summary>The documented defaults (no action: the binder requires one).</summary>
    public static readonly RecoveryConfig Default = new();

    /// <summary>Fixed ± spread on every backoff, so backends that went down together are not restarted in lockstep.</summary>
    public const double Jitter = 0.10;

    /// <summary>How long a backend must have been continuously down before the first attempt.</summary>
    public TimeSpan After { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time from one attempt to the next while the backend stays down; doubles per attempt up to
    /// <see cref="MaxBackoff"/>. Null = the same as <see cref="After"/>.</summary>
    public TimeSpan? Backoff { get; init; }

    /// <summary>Cap on the doubling backoff.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long the action may take (HTTP response, or process exit) before it counts as failed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The HTTP request to send; null when the action is a command.</summary>
    public RecoveryHttp? Http { get; init; }

    /// <summary>The executable (absolute path) and its arguments, run without a shell; empty when the action is HTTP.</summary>
    public ImmutableArray<string> Command { get; init; } = [];

    /// <summary>The backoff actually used: <see cref="Backoff"/>, or <see cref="After"/> when not set.</summary>
    public TimeSpan EffectiveBackoff => Backoff ?? After;

    /// <summary>What <c>/status</c> and events call the action: <c>http POST &lt;url&gt;</c> or <c>command &lt;exe&gt;</c>.</summary>
    public string Describe() =>
        Http is { } h ? $"http {h.Method} {h.Url}"
        : !Command.IsDefaultOrEmpty ? $"command {Command[0]}"
        : "none";

    /// <summary>Compares the command by content (ImmutableArray compares by reference), so a reload can tell nothing changed.</summary>
    public bool Equals(RecoveryConfig? other) =>
        other is not null
        && After == other.After && Backoff == other.Backoff && MaxBackoff == other.MaxBackoff && Timeout == other.Timeout
        && Equals(Http, other.Http)
        && Command.IsDefaultOrEmpty == other.Command.IsDefaultOrEmpty
        && (Command.IsDefaultOrEmpty || Command.SequenceEqual(other.Command));

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(After);
        hash.Add(Backoff);
        hash.Add(MaxBackoff);
        hash.Add(Timeout);
        hash.Add(Http);
        if (!Command.IsDefault)
            foreach (var part in Command) hash.Add(part);
        return hash.ToHashCode();
    }
}

/// <summary>An HTTP recovery action: <c>{Method} {Url}</c> with optional headers and body; any 2xx is ok.</summary>
/// <param name="Url">Absolute http(s) URL without user info; shown in <c>/status</c> (put secrets in headers).</param>
/// <param name="Method">Upper-case method: GET, HEAD, POST, PUT, PATCH or DELETE.</param>
/// <param name="Headers">Request headers, in config order; never shown.</param>
/// <param name="Body">Request body (sent as text/plain unless a Content-Type header says otherwise); null = none.</param>
public sealed record RecoveryHttp(Uri Url, string Method, ImmutableArray<KeyValuePair<string, string>> Headers, string? Body)
{
    /// <summary>Methods the binder accepts.</summary>
    public static readonly ImmutableArray<string> Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

    /// <inheritdoc/>
    public bool Equals(RecoveryHttp? other) =>
        other is not null
        && Url == other.Url && Method == other.Method && Body == other.Body
        && Headers.IsDefaultOrEmpty == other.Headers.IsDefaultOrEmpty
        && (Headers.IsDefaultOrEmpty || Headers.SequenceEqual(other.Headers));

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Url);
        hash.Add(Method);
        hash.Add(Body);
        if (!Headers.IsDefault)
            foreach (var h in Headers) hash.Add(h);
        return hash.ToHashCode();
    }
}
