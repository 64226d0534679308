using System.Collections.Immutable;
using Prox.Actors.Hocon;

namespace Prox.Actors.Config;

/// <summary>Binds <c>prox.admin</c>: the admin listeners, fault injection and the bearer tokens.</summary>
internal static class AdminConfigBinder
{
    private static readonly string[] AdminKeys = ["listen", "chaos", "tokens"];
    private static readonly string[] AdminTokenKeys = ["name", "sha256", "role"];

    /// <summary><c>prox.admin.listen</c> with the path of each address; null when absent (the caller applies the default).</summary>
    public static List<(ListenAddress Address, string Path)>? Listen(ConfigReader r, ConfigNode.Map prox)
    {
        if (r.Section(prox, "admin", "prox.admin", AdminKeys) is not { } admin)
            return null;
        return ProxConfigBinder.ListenAddresses(r, admin, "prox.admin", "listen");
    }

    /// <summary>An admin listener needs its own address, and without tokens it must not leave the machine.</summary>
    public static void CheckListeners(ConfigReader r, List<(ListenAddress Address, string Path)>? admin,
        List<ListenAddress> proxyListen, ImmutableArray<AdminToken>? tokens)
    {
        foreach (var (address, path) in admin ?? [])
        {
            if (address.Port != 0 && proxyListen.Any(address.SameEndpoint))
                r.Error(path, $"{address} is also a proxy listen address; the admin plane needs its own listener");
            // security by default: an admin plane without tokens must not leave the machine
            if (!IsLoopback(address.Host) && tokens is null or { Length: 0 })
                r.Error(path, $"{address} is not a loopback address; bind the admin listener beyond 127.0.0.1, [::1] or localhost only with prox.admin.tokens set (create one with 'prox token')");
        }
    }

    /// <summary><c>prox.admin.chaos</c>: fault injection, off unless set.</summary>
    public static bool Chaos(ConfigReader r, ConfigNode.Map prox) =>
        prox.Get("admin") is ConfigNode.Map admin && r.Bool(admin, "prox.admin", "chaos", false);

    /// <summary><c>prox.admin.tokens</c>: null when absent or not a list.</summary>
    public static ImmutableArray<AdminToken>? Tokens(ConfigReader r, ConfigNode.Map prox)
    {
        const string path = "prox.admin.tokens";
        if (prox.Get("admin") is not ConfigNode.Map admin || admin.Get("tokens") is not { } node
            || r.AsList(node, path, "a list of { name, sha256, role } objects") is not { } list)
            return null;
        var result = ImmutableArray.CreateBuilder<AdminToken>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Items.Length; i++)
        {
            var itemPath = ConfigPath.Index(path, i);
            if (r.AsMap(list.Items[i], itemPath) is not { } token)
                continue;
            r.CheckKeys(token, itemPath, AdminTokenKeys);
            var name = TokenName(r, token, itemPath);
            var hash = TokenHash(r, token, itemPath);
            var role = TokenRole(r, token, itemPath);
            if (name is not null && !names.TryAdd(name, itemPath))
            {
                r.Error(ConfigPath.Child(itemPath, "name"), $"duplicate token name '{name}' (also {names[name]})");
                name = null;
            }
            if (hash is not null && !hashes.TryAdd(Convert.ToHexString(hash), itemPath))
            {
                r.Error(ConfigPath.Child(itemPath, "sha256"), $"the same token hash as {hashes[Convert.ToHexString(hash)]}");
                hash = null;
            }
            if (name is not null && hash is not null && role is { } rl)
                result.Add(new AdminToken(name, [.. hash], rl));
        }
        return result.ToImmutable();
    }

    private static string? TokenName(ConfigReader r, ConfigNode.Map token, string parent)
    {
        var path = ConfigPath.Child(parent, "name");
        if (token.Get("name") is not { } node)
        {
            r.Error(path, "required (who holds the token; it names them in the audit log)");
            return null;
        }
        if (r.Text(node, path, "a name") is not { } name)
            return null;
        if (name.Length is 0 or > 64 || !ConfigValues.IsPlainKey(name))
        {
            r.Error(path, $"'{ConfigReader.Clip(name)}' is not a token name (1-64 letters, digits, '-' or '_')");
            return null;
        }
        return name;
    }

    private static byte[]? TokenHash(ConfigReader r, ConfigNode.Map token, string parent)
    {
        var path = ConfigPath.Child(parent, "sha256");
        if (token.Get("sha256") is not { } node)
        {
            r.Error(path, "required: the token's SHA-256 as 64 hex characters (create a token with 'prox token')");
            return null;
        }
        if (r.Text(node, path, "64 hex characters") is not { } text)
            return null;
        if (text.Length != 64 || !text.All(char.IsAsciiHexDigit))
        {
            // never echo the value: a plain-text token pasted here by mistake must not reach the logs
            r.Error(path, $"must be a SHA-256 as 64 hex characters, got {text.Length} characters{(text.All(char.IsAsciiHexDigit) ? "" : " that are not all hex digits")} (the plain-text token never goes in the config; 'prox token' prints both)");
            return null;
        }
        return Convert.FromHexString(text);
    }

    private static AdminRole? TokenRole(ConfigReader r, ConfigNode.Map token, string parent)
    {
        var path = ConfigPath.Child(parent, "role");
        if (token.Get("role") is not { } node)
            return AdminRole.Read;
        switch (r.Text(node, path, "read or write"))
        {
            case null:
                return null;
            case "read":
                return AdminRole.Read;
            case "write":
                return AdminRole.Write;
            case var other:
                r.Error(path, $"unknown role '{ConfigReader.Clip(other)}' (allowed: read, write)");
                return null;
        }
    }

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));
}
