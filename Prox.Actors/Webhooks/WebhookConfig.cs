using System.Collections.Immutable;
using System.Text;
using Prox.Actors.Events;

namespace Prox.Actors.Webhooks;

/// <summary>How a webhook's body is shaped.</summary>
public enum WebhookFormat
{
    /// <summary><c>{ id, timestamp, type, route, backend, detail }</c>.</summary>
    Json,
    /// <summary><c>{ "text": "…" }</c>, what a Slack incoming webhook accepts.</summary>
    Slack,
}

/// <summary>One entry of <c>prox.webhooks</c>.</summary>
/// <param name="Name">Unique; names the outbox and the entry on <c>/status</c>.</param>
/// <param name="Url">Absolute http(s) URL the events are POSTed to.</param>
/// <param name="Events">Event kinds delivered; null = every kind (including kinds added in later versions).</param>
/// <param name="Secret">HMAC-SHA256 key for <c>X-Prox-Signature</c>; null = unsigned. Never logged or shown.</param>
/// <param name="Timeout">Per-attempt timeout of one POST.</param>
/// <param name="Backoff">Delay before the first retry; doubles per failed attempt up to <paramref name="MaxBackoff"/>.</param>
/// <param name="MaxPending">Outbox bound; beyond it the oldest undelivered event is dropped.</param>
public sealed record WebhookConfig(
    string Name,
    Uri Url,
    ImmutableArray<string>? Events,
    string? Secret,
    WebhookFormat Format,
    TimeSpan Timeout,
    TimeSpan Backoff,
    TimeSpan MaxBackoff,
    int MaxPending)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultMaxBackoff = TimeSpan.FromMinutes(5);
    public const int DefaultMaxPending = 10_000;

    /// <summary>True when this webhook wants events of <paramref name="kind"/>.</summary>
    public bool Wants(string kind) => Events is not { } list || list.Contains(kind);

    /// <summary>The kinds delivered, spelled out (every known kind when the filter is absent).</summary>
    public IReadOnlyList<string> EffectiveEvents => Events is { } list ? list : ProxEventKinds.All;

    /// <summary>The URL without user info, safe to show.</summary>
    public string DisplayUrl => Url.UserInfo.Length == 0
        ? Url.AbsoluteUri
        : new UriBuilder(Url) { UserName = "", Password = "" }.Uri.AbsoluteUri;

    // records print every member; the secret (and URL credentials) must never reach a log
    private bool PrintMembers(StringBuilder b)
    {
        b.Append($"Name = {Name}, Url = {DisplayUrl}, Format = {Format}, Secret = {(Secret is null ? "none" : "***")}");
        return true;
    }
}
