using System.Text.Json;
using System.Text.Json.Serialization;
using Prox.Actors.Events;

namespace Prox.Actors.Webhooks;

/// <summary>One POST to a webhook, ready to send.</summary>
public sealed record WebhookRequest(Uri Url, byte[] Body, IReadOnlyList<KeyValuePair<string, string>> Headers, TimeSpan Timeout)
{
    public const string ContentType = "application/json";
}

/// <summary>Builds the body and headers of a delivery. Pure: same event, same bytes (so signatures are reproducible).</summary>
public static class WebhookPayload
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <param name="Node">The raising node's cluster address; left out standalone, so those bodies are unchanged.</param>
    private sealed record JsonBody(string Id, DateTimeOffset Timestamp, string Type, string? Route, string? Backend, string Detail,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Node);

    private sealed record SlackBody(string Text);

    public static byte[] Body(ProxEvent e, WebhookFormat format) => format switch
    {
        WebhookFormat.Slack => JsonSerializer.SerializeToUtf8Bytes(new SlackBody(SlackText(e)), Json),
        _ => JsonSerializer.SerializeToUtf8Bytes(new JsonBody(e.Id, e.Timestamp, e.Kind, e.Route, e.Backend, e.Detail, e.Node), Json),
    };

    public static string SlackText(ProxEvent e)
    {
        var where = (e.Route, e.Backend) switch
        {
            (not null, not null) => $"route {e.Route}, backend {e.Backend}",
            (not null, null) => $"route {e.Route}",
            (null, not null) => $"backend {e.Backend}",
            _ => "prox",
        };
        var node = e.Node is null ? "" : $" on {e.Node}";
        return $"[prox] {e.Kind} ({where}){node}: {e.Detail}";
    }

    /// <param name="attempt">1 for the first try of this event.</param>
    public static WebhookRequest Build(WebhookConfig hook, ProxEvent e, int attempt)
    {
        var body = Body(e, hook.Format);
        var headers = new List<KeyValuePair<string, string>>
        {
            new("Idempotency-Key", e.Id),
            new("X-Prox-Event", e.Kind),
            new("X-Prox-Delivery-Attempt", attempt.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        if (hook.Secret is { } secret)
            headers.Add(new(WebhookSignature.Header, WebhookSignature.Sign(secret, body)));
        return new WebhookRequest(hook.Url, body, headers, hook.Timeout);
    }
}
