using System.Collections.Immutable;
using Prox.Actors.Events;
using Prox.Actors.Hocon;

namespace Prox.Actors.Webhooks;

/// <summary>Binds <c>prox.webhooks</c> to <see cref="WebhookConfig"/>s.</summary>
internal static class WebhookConfigBinder
{
    private static readonly string[] WebhookKeys =
        ["name", "url", "events", "secret", "format", "timeout", "backoff", "max-backoff", "max-pending"];
    private const int MaxWebhookPending = 1_000_000;

    /// <summary>Every valid webhook of <c>prox.webhooks</c>; empty when the key is absent.</summary>
    public static ImmutableArray<WebhookConfig> Bind(ConfigReader r, ConfigNode.Map prox)
    {
        const string path = "prox.webhooks";
        if (prox.Get("webhooks") is not { } node
            || r.AsList(node, path, "a list of webhooks such as [ { name = ops, url = \"https://…\" } ]") is not { } list)
            return [];

        var result = ImmutableArray.CreateBuilder<WebhookConfig>();
        var names = new Dictionary<string, string>();
        for (var i = 0; i < list.Items.Length; i++)
        {
            var itemPath = ConfigPath.Index(path, i);
            if (r.AsMap(list.Items[i], itemPath, "an object such as { name = ops, url = \"https://…\" }") is not { } hook)
                continue;
            if (Webhook(r, hook, itemPath) is not { } config)
                continue;
            if (names.TryGetValue(config.Name, out var first))
            {
                r.Error(ConfigPath.Child(itemPath, "name"), $"duplicate webhook name '{config.Name}' (also used by {first})");
                continue;
            }
            names[config.Name] = itemPath;
            result.Add(config);
        }
        return result.ToImmutable();
    }

    private static WebhookConfig? Webhook(ConfigReader r, ConfigNode.Map hook, string path)
    {
        r.CheckKeys(hook, path, WebhookKeys);
        var ok = true;

        string? name = null;
        var namePath = ConfigPath.Child(path, "name");
        if (hook.Get("name") is not { } nameNode)
            r.Error(namePath, "missing: every webhook needs a name");
        else if (r.Text(nameNode, namePath, "a name") is { } text)
        {
            if (ConfigValues.IsName(text)) name = text;
            else r.Error(namePath, "must start with a letter or digit and contain only letters, digits, '.', '-' or '_' (at most 100)");
        }

        Uri? url = null;
        var urlPath = ConfigPath.Child(path, "url");
        if (hook.Get("url") is not { } urlNode)
            r.Error(urlPath, "missing: where to POST events");
        else if (r.Text(urlNode, urlPath, "an http(s) URL") is { } text)
        {
            if (Uri.TryCreate(text, UriKind.Absolute, out var parsed)
                && (parsed.Scheme == Uri.UriSchemeHttp || parsed.Scheme == Uri.UriSchemeHttps)
                && parsed.Host.Length > 0
                && text.StartsWith(parsed.Scheme + "://", StringComparison.OrdinalIgnoreCase))
            {
                if (text.Contains('#')) r.Error(urlPath, "must not contain a fragment");
                else url = parsed;
            }
            else
            {
                // never echo the value: it may carry credentials
                r.Error(urlPath, "not an absolute http(s) URL");
            }
        }

        ImmutableArray<string>? events = null;
        var eventsPath = ConfigPath.Child(path, "events");
        if (r.Strings(hook, path, "events", "an event kind") is { } items)
        {
            if (hook.Get("events") is ConfigNode.List { Items.IsEmpty: true })
                r.Error(eventsPath, "must list at least one event kind (leave events out for all kinds)");
            var kinds = new List<string>();
            foreach (var (text, itemPath) in items)
            {
                var kind = text.ToLowerInvariant();
                if (!ProxEventKinds.All.Contains(kind))
                {
                    var guess = ConfigValues.ClosestMatch(kind, ProxEventKinds.All);
                    r.Error(itemPath, $"unknown event kind '{ConfigReader.Clip(text)}'"
                        + (guess is null ? $" (known: {string.Join(", ", ProxEventKinds.All)})" : $" (did you mean '{guess}'?)"));
                    ok = false;
                }
                else if (!kinds.Contains(kind))
                {
                    kinds.Add(kind);
                }
            }
            events = [.. kinds];
        }

        string? secret = null;
        var secretPath = ConfigPath.Child(path, "secret");
        if (hook.Get("secret") is { } secretNode && r.Text(secretNode, secretPath, "a string") is { } secretText)
        {
            if (secretText.Length == 0) r.Error(secretPath, "must not be empty (leave it out for unsigned deliveries)");
            else secret = secretText;
        }

        var format = WebhookFormat.Json;
        var formatPath = ConfigPath.Child(path, "format");
        if (hook.Get("format") is { } formatNode && r.Text(formatNode, formatPath, "json or slack") is { } formatText)
        {
            switch (formatText.ToLowerInvariant())
            {
                case "json": format = WebhookFormat.Json; break;
                case "slack": format = WebhookFormat.Slack; break;
                default: r.Error(formatPath, $"unknown format '{ConfigReader.Clip(formatText)}' (allowed: json, slack)"); break;
            }
        }

        var timeout = r.OptionalDuration(hook, path, "timeout") ?? WebhookConfig.DefaultTimeout;
        var backoff = r.OptionalDuration(hook, path, "backoff") ?? WebhookConfig.DefaultBackoff;
        var maxBackoff = r.OptionalDuration(hook, path, "max-backoff") ?? WebhookConfig.DefaultMaxBackoff;
        if (maxBackoff < backoff)
            r.Error(ConfigPath.Child(path, hook.Get("max-backoff") is null ? "backoff" : "max-backoff"),
                $"max-backoff ({maxBackoff}) must not be less than backoff ({backoff})");
        var maxPending = r.Int(hook, path, "max-pending", WebhookConfig.DefaultMaxPending, 1, MaxWebhookPending);

        if (!ok || name is null || url is null)
            return null;
        return new WebhookConfig(name, url, events, secret, format, timeout, backoff, maxBackoff, maxPending);
    }
}
