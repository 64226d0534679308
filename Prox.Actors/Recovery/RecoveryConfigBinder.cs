using System.Collections.Immutable;
using Prox.Actors.Hocon;

namespace Prox.Actors.Recovery;

/// <summary>Binds a route's or a backend's <c>recovery { … }</c> block to <see cref="RecoveryConfig"/>, and writes one back.</summary>
internal static class RecoveryConfigBinder
{
    private static readonly string[] RecoveryKeys = ["after", "backoff", "max-backoff", "timeout", "http", "command"];
    private static readonly string[] RecoveryHttpKeys = ["url", "method", "headers", "body"];

    /// <summary>
    /// The backend's effective recovery block: its own keys over the route's. The merged result must have exactly
    /// one action and the backend must have active health checks (without them nothing notices it coming back:
    /// a passive-only backend returns when its ejection time ends, whether or not the action helped). Problems of
    /// an inherited block are reported once, at the route's block.
    /// </summary>
    /// <param name="path">The backend's path; its own block is its <c>recovery</c> key.</param>
    /// <param name="hasHealthChecks">Whether the backend has active health checks (its own or the route's).</param>
    /// <param name="routeRecovery">The route's recovery block (null = none), which the backend's own overrides key by key.</param>
    /// <param name="routeRecoveryPath">Where problems of an inherited recovery block are reported.</param>
    public static RecoveryConfig? BindForBackend(ConfigReader r, ConfigNode.Map backend, string path, bool hasHealthChecks,
        RecoveryConfig? routeRecovery, string routeRecoveryPath)
    {
        var own = backend.Get("recovery");
        if (own is null && routeRecovery is null)
            return null;
        var recoveryPath = ConfigPath.Child(path, "recovery");
        var recovery = own is not null
            ? Bind(r, own, recoveryPath, routeRecovery ?? RecoveryConfig.Default)
            : routeRecovery!;
        if (own is not null && own is not ConfigNode.Map)
            return null; // AsMap reported it

        // an action that failed to bind was reported where it is written; "no action" would only repeat that
        var reported = r.AnyErrorUnder(routeRecoveryPath) || r.AnyErrorUnder(recoveryPath);
        if (recovery.Http is null && recovery.Command.IsDefaultOrEmpty && !reported)
            r.ErrorOnce(own is null ? routeRecoveryPath : recoveryPath,
                "needs an action: exactly one of http { url = … } or command = [\"/path/to/program\", …]");
        if (!hasHealthChecks)
            r.ErrorOnce(own is null ? routeRecoveryPath : recoveryPath,
                "needs active health checks (a health block on the route or the backend): they are what notices the backend coming back");
        return recovery;
    }

    /// <summary>
    /// Applies one <c>recovery</c> block over <paramref name="baseline"/> (the defaults for a route, the route's block for a
    /// backend). <c>http</c> and <c>command</c> are two forms of one setting, the action: a block names at most one, and a
    /// backend's replaces the route's (an <c>http</c> block over an inherited <c>http</c> merges key by key).
    /// </summary>
    public static RecoveryConfig Bind(ConfigReader r, ConfigNode node, string path, RecoveryConfig baseline)
    {
        if (r.Block(node, path, RecoveryKeys) is not { } recovery)
            return baseline;

        var (after, afterOk) = r.Duration(recovery, path, "after", baseline.After);
        var backoff = baseline.Backoff;
        var backoffOk = true;
        if (recovery.Get("backoff") is not null)
        {
            backoff = r.OptionalDuration(recovery, path, "backoff");
            backoffOk = backoff is not null;
            backoff ??= baseline.Backoff;
        }
        var (maxBackoff, maxOk) = r.Duration(recovery, path, "max-backoff", baseline.MaxBackoff);
        var (timeout, _) = r.Duration(recovery, path, "timeout", baseline.Timeout);
        var effectiveBackoff = backoff ?? after;
        if (afterOk && backoffOk && maxOk && maxBackoff < effectiveBackoff
            && (recovery.Get("max-backoff") is not null || recovery.Get("backoff") is not null || recovery.Get("after") is not null))
            r.Error(ConfigPath.Child(path, recovery.Get("max-backoff") is not null ? "max-backoff" : recovery.Get("backoff") is not null ? "backoff" : "after"),
                $"max-backoff ({maxBackoff}) must not be less than backoff ({effectiveBackoff}{(backoff is null ? ", the same as after" : "")})");

        var http = baseline.Http;
        var command = baseline.Command;
        var httpNode = recovery.Get("http");
        var commandNode = recovery.Get("command");
        if (httpNode is not null && commandNode is not null)
        {
            r.Error(path, "set either http { … } or command = [ … ], not both");
        }
        else if (httpNode is not null)
        {
            http = Http(r, httpNode, ConfigPath.Child(path, "http"), baseline.Http);
            command = [];
        }
        else if (commandNode is not null)
        {
            command = Command(r, commandNode, ConfigPath.Child(path, "command"));
            http = null;
        }

        return baseline with
        {
            After = after,
            Backoff = backoff,
            MaxBackoff = maxBackoff,
            Timeout = timeout,
            Http = http,
            Command = command,
        };
    }

    /// <summary>The block as HOCON with every key it sets, so it binds back to exactly <paramref name="recovery"/>.</summary>
    public static string Write(RecoveryConfig recovery)
    {
        var parts = new List<string> { $"after = {HoconWriter.Duration(recovery.After)}" };
        if (recovery.Backoff is { } backoff) parts.Add($"backoff = {HoconWriter.Duration(backoff)}");
        parts.Add($"max-backoff = {HoconWriter.Duration(recovery.MaxBackoff)}");
        parts.Add($"timeout = {HoconWriter.Duration(recovery.Timeout)}");
        if (recovery.Http is { } http)
        {
            var inner = new List<string> { $"url = {HoconWriter.Str(http.Url.OriginalString)}", $"method = {HoconWriter.Str(http.Method)}" };
            if (!http.Headers.IsDefaultOrEmpty)
                inner.Add("headers " + HoconWriter.Object(http.Headers.Select(kv => $"{HoconWriter.Str(kv.Key)} = {HoconWriter.Str(kv.Value)}")));
            if (http.Body is { } body) inner.Add($"body = {HoconWriter.Str(body)}");
            parts.Add("http " + HoconWriter.Object(inner));
        }
        else if (!recovery.Command.IsDefaultOrEmpty)
        {
            parts.Add("command = [" + string.Join(", ", recovery.Command.Select(HoconWriter.Str)) + "]");
        }
        return HoconWriter.Object(parts);
    }

    private static RecoveryHttp? Http(ConfigReader r, ConfigNode node, string path, RecoveryHttp? baseline)
    {
        if (r.Block(node, path, RecoveryHttpKeys) is not { } http)
            return baseline;

        var url = baseline?.Url;
        var urlPath = ConfigPath.Child(path, "url");
        if (http.Get("url") is { } urlNode)
        {
            if (r.Text(urlNode, urlPath, "a URL string") is { } text)
            {
                if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed)
                    || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)
                    || string.IsNullOrEmpty(parsed.Host)
                    || !text.StartsWith(parsed.Scheme + "://", StringComparison.OrdinalIgnoreCase))
                    r.Error(urlPath, $"'{ConfigReader.Clip(text)}' is not an absolute http(s) URL");
                else if (parsed.UserInfo.Length > 0)
                    r.Error(urlPath, "must not contain credentials (user info): /status shows the URL; put secrets in headers");
                else
                    url = parsed;
            }
        }
        else if (url is null)
        {
            r.Error(urlPath, "missing: an http action needs a url such as \"http://127.0.0.1:9000/restart\"");
        }

        var method = baseline?.Method ?? "POST";
        var methodPath = ConfigPath.Child(path, "method");
        if (http.Get("method") is { } methodNode && r.Text(methodNode, methodPath, "an HTTP method") is { } methodText)
        {
            var upper = methodText.ToUpperInvariant();
            if (RecoveryHttp.Methods.Contains(upper))
                method = upper;
            else
                r.Error(methodPath, $"unknown method '{ConfigReader.Clip(methodText)}' (allowed: {string.Join(", ", RecoveryHttp.Methods)})");
        }

        var headers = baseline?.Headers ?? [];
        var headersPath = ConfigPath.Child(path, "headers");
        if (http.Get("headers") is { } headersNode && r.AsMap(headersNode, headersPath) is { } headerMap)
        {
            var list = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
            foreach (var (name, valueNode) in headerMap.Fields)
            {
                var headerPath = ConfigPath.Child(headersPath, name);
                if (r.Text(valueNode, headerPath, "a string") is not { } value)
                    continue;
                if (name.Length == 0 || !name.All(ConfigReader.IsTokenChar))
                    r.Error(headerPath, "not a valid header name");
                else if (value.Any(c => char.IsControl(c) && c != '\t'))
                    r.Error(headerPath, "header values must not contain control characters (CR, LF, …)");
                else
                    list.Add(new(name, value));
            }
            headers = list.ToImmutable();
        }

        var body = baseline?.Body;
        if (http.Get("body") is { } bodyNode)
            body = r.Text(bodyNode, ConfigPath.Child(path, "body"), "a string") ?? body;

        return url is null ? null : new RecoveryHttp(url, method, headers, body);
    }

    private static ImmutableArray<string> Command(ConfigReader r, ConfigNode node, string path)
    {
        if (node is ConfigNode.Text)
        {
            r.Error(path, "must be a list such as [\"/usr/bin/systemctl\", \"restart\", \"app\"]: there is no shell, so each argument is its own item");
            return [];
        }
        if (r.AsList(node, path, "a list of strings: the program's absolute path, then its arguments") is not { } list)
            return [];
        if (list.Items.IsEmpty)
        {
            r.Error(path, "must not be empty: name the program (an absolute path) and its arguments");
            return [];
        }
        var result = ImmutableArray.CreateBuilder<string>();
        var ok = true;
        for (var i = 0; i < list.Items.Length; i++)
        {
            var itemPath = ConfigPath.Index(path, i);
            // not Text(): arguments are passed verbatim, so surrounding spaces are kept
            switch (list.Items[i])
            {
                case ConfigNode.Text text when text.Value.Contains('\0'):
                    r.Error(itemPath, "must not contain a NUL character");
                    ok = false;
                    break;
                case ConfigNode.Text text when i == 0 && !System.IO.Path.IsPathFullyQualified(text.Value):
                    r.Error(itemPath, $"'{ConfigReader.Clip(text.Value)}' is not an absolute path; name the program by its full path (there is no shell and no PATH lookup)");
                    ok = false;
                    break;
                case ConfigNode.Text text:
                    result.Add(text.Value);
                    break;
                case var other:
                    r.Error(itemPath, other is ConfigNode.Invalid invalid ? invalid.Message : $"expected a string, got {ConfigReader.Describe(other)}");
                    ok = false;
                    break;
            }
        }
        return ok ? result.ToImmutable() : [];
    }
}
