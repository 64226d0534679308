using System.Collections.Immutable;
using Prox.Actors.Events;
using Prox.Actors.Webhooks;

namespace Prox.Actors.Config;

/// <summary>Binding of <c>prox.webhooks</c> and <c>prox.persistence</c>.</summary>
internal sealed partial class ProxConfigBinder
{
    private static readonly string[] WebhookKeys =
        ["name", "url", "events", "secret", "format", "timeout", "backoff", "max-backoff", "max-pending"];
    private static readonly string[] PersistenceKeys = ["provider", "data-dir", "connection-string"];
    private const int MaxWebhookPending = 1_000_000;

    private ImmutableArray<WebhookConfig> Webhooks(ConfigNode.Map prox)
    {
        const string path = "prox.webhooks";
        if (prox.Get("webhooks") is not { } node
            || AsList(node, path, "a list of webhooks such as [ { name = ops, url = \"https://…\" } ]") is not { } list)
            return [];

        var result = ImmutableArray.CreateBuilder<WebhookConfig>();
        var names = new Dictionary<string, string>();
        for (var i = 0; i < list.Items.Length; i++)
        {
            var itemPath = Index(path, i);
            if (AsMap(list.Items[i], itemPath, "an object such as { name = ops, url = \"https://…\" }") is not { } hook)
                continue;
            if (Webhook(hook, itemPath) is not { } config)
                continue;
            if (names.TryGetValue(config.Name, out var first))
            {
                Error(Child(itemPath, "name"), $"duplicate webhook name '{config.Name}' (also used by {first})");
                continue;
            }
            names[config.Name] = itemPath;
            result.Add(config);
        }
        return result.ToImmutable();
    }

    private WebhookConfig? Webhook(ConfigNode.Map hook, string path)
    {
        CheckKeys(hook, path, WebhookKeys);
        var ok = true;

        string? name = null;
        var namePath = Child(path, "name");
        if (hook.Get("name") is not { } nameNode)
            Error(namePath, "missing: every webhook needs a name");
        else if (Text(nameNode, namePath, "a name") is { } text)
        {
            if (RouteId().IsMatch(text)) name = text;
            else Error(namePath, "must start with a letter or digit and contain only letters, digits, '.', '-' or '_' (at most 100)");
        }

        Uri? url = null;
        var urlPath = Child(path, "url");
        if (hook.Get("url") is not { } urlNode)
            Error(urlPath, "missing: where to POST events");
        else if (Text(urlNode, urlPath, "an http(s) URL") is { } text)
        {
            if (Uri.TryCreate(text, UriKind.Absolute, out var parsed)
                && (parsed.Scheme == Uri.UriSchemeHttp || parsed.Scheme == Uri.UriSchemeHttps)
                && parsed.Host.Length > 0
                && text.StartsWith(parsed.Scheme + "://", StringComparison.OrdinalIgnoreCase))
            {
                if (text.Contains('#')) Error(urlPath, "must not contain a fragment");
                else url = parsed;
            }
            else
            {
                // never echo the value: it may carry credentials
                Error(urlPath, "not an absolute http(s) URL");
            }
        }

        ImmutableArray<string>? events = null;
        var eventsPath = Child(path, "events");
        if (Strings(hook, path, "events", "an event kind") is { } items)
        {
            if (hook.Get("events") is ConfigNode.List { Items.IsEmpty: true })
                Error(eventsPath, "must list at least one event kind (leave events out for all kinds)");
            var kinds = new List<string>();
            foreach (var (text, itemPath) in items)
            {
                var kind = text.ToLowerInvariant();
                if (!ProxEventKinds.All.Contains(kind))
                {
                    var guess = ConfigValues.ClosestMatch(kind, ProxEventKinds.All);
                    Error(itemPath, $"unknown event kind '{Clip(text)}'"
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
        var secretPath = Child(path, "secret");
        if (hook.Get("secret") is { } secretNode && Text(secretNode, secretPath, "a string") is { } secretText)
        {
            if (secretText.Length == 0) Error(secretPath, "must not be empty (leave it out for unsigned deliveries)");
            else secret = secretText;
        }

        var format = WebhookFormat.Json;
        var formatPath = Child(path, "format");
        if (hook.Get("format") is { } formatNode && Text(formatNode, formatPath, "json or slack") is { } formatText)
        {
            switch (formatText.ToLowerInvariant())
            {
                case "json": format = WebhookFormat.Json; break;
                case "slack": format = WebhookFormat.Slack; break;
                default: Error(formatPath, $"unknown format '{Clip(formatText)}' (allowed: json, slack)"); break;
            }
        }

        var timeout = OptionalDuration(hook, path, "timeout") ?? WebhookConfig.DefaultTimeout;
        var backoff = OptionalDuration(hook, path, "backoff") ?? WebhookConfig.DefaultBackoff;
        var maxBackoff = OptionalDuration(hook, path, "max-backoff") ?? WebhookConfig.DefaultMaxBackoff;
        if (maxBackoff < backoff)
            Error(Child(path, hook.Get("max-backoff") is null ? "backoff" : "max-backoff"),
                $"max-backoff ({maxBackoff}) must not be less than backoff ({backoff})");
        var maxPending = Int(hook, path, "max-pending", WebhookConfig.DefaultMaxPending, 1, MaxWebhookPending);

        if (!ok || name is null || url is null)
            return null;
        return new WebhookConfig(name, url, events, secret, format, timeout, backoff, maxBackoff, maxPending);
    }

    private PersistenceConfig Persistence(ConfigNode.Map prox)
    {
        const string path = "prox.persistence";
        var defaults = PersistenceConfig.Default;
        if (prox.Get("persistence") is not { } node || AsMap(node, path) is not { } persistence)
            return defaults;
        CheckKeys(persistence, path, PersistenceKeys);

        var provider = defaults.Provider;
        var providerPath = Child(path, "provider");
        if (persistence.Get("provider") is { } providerNode && Text(providerNode, providerPath, "a provider name") is { } text)
        {
            if (text.Equals(PersistenceConfig.Sqlite, StringComparison.OrdinalIgnoreCase)) provider = PersistenceConfig.Sqlite;
            else if (text.Equals(PersistenceConfig.PostgreSql, StringComparison.OrdinalIgnoreCase)) provider = PersistenceConfig.PostgreSql;
            else Error(providerPath, $"unknown provider '{Clip(text)}' (allowed: sqlite, postgresql)");
        }
        var postgres = provider == PersistenceConfig.PostgreSql;

        var dataDir = defaults.DataDir;
        var dirPath = Child(path, "data-dir");
        if (persistence.Get("data-dir") is { } dirNode && Text(dirNode, dirPath, "a directory path") is { } dir)
        {
            if (postgres) Error(dirPath, "not used by provider postgresql (its database is prox.persistence.connection-string)");
            else if (dir.Length == 0 || dir.IndexOfAny(Path.GetInvalidPathChars()) >= 0) Error(dirPath, "must be a directory path");
            else dataDir = dir;
        }

        string? connectionString = null;
        var connPath = Child(path, "connection-string");
        var connNode = persistence.Get("connection-string");
        if (!postgres)
        {
            if (connNode is not null)
                Error(connPath, "not used by provider sqlite (its file is <data-dir>/prox.db)");
        }
        else if (connNode is null)
        {
            Error(connPath, "provider postgresql needs a connection string such as \"Host=db;Port=5432;Username=prox;Password=…;Database=prox\" " +
                            "(e.g. connection-string = ${?PROX_DB} with PROX_DB set)");
        }
        // the text is never echoed back: it may hold a password
        else if (Text(connNode, connPath, "a connection string") is { } conn)
        {
            var builder = new System.Data.Common.DbConnectionStringBuilder();
            try
            {
                builder.ConnectionString = conn;
                if (!builder.ContainsKey("Host") && !builder.ContainsKey("Server"))
                    Error(connPath, "has no Host (expected \"Host=db;Port=5432;Username=prox;Password=…;Database=prox\")");
                else connectionString = conn;
            }
            catch (ArgumentException)
            {
                Error(connPath, "is not a connection string of the form \"Host=db;Port=5432;Username=prox;Password=…;Database=prox\"");
            }
        }

        return new PersistenceConfig(provider, dataDir, connectionString);
    }
}
