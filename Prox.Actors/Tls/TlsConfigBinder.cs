using System.Collections.Immutable;
using System.Security.Authentication;
using Prox.Actors.Hocon;

namespace Prox.Actors.Tls;

/// <summary>
/// Binds <c>prox.tls</c> and <c>prox.limits.http2</c> (the listeners' TLS blocks are bound with the listeners, by
/// <c>Config/ListenerConfigBinder</c>). Only the text is checked here; whether the PEM files exist, parse, match and
/// are still valid is checked where they are read (<c>Prox.Http/Tls/CertificateFiles</c>), against the config file's folder.
/// </summary>
internal static class TlsConfigBinder
{
    private static readonly string[] TlsKeys = ["certificates", "min-version"];
    private static readonly string[] CertificateKeys = ["hosts", "certificate", "key"];
    private static readonly string[] Http2Keys =
        ["max-streams-per-connection", "header-table-size", "max-frame-size", "max-request-header-field-size",
         "initial-connection-window-size", "initial-stream-window-size"];

    /// <summary>A PEM file name (not read here).</summary>
    internal static string? PemFile(ConfigReader r, ConfigNode.Map map, string parent, string key)
    {
        var path = ConfigPath.Child(parent, key);
        if (map.Get(key) is not { } node) return null;
        if (r.Text(node, path, "a PEM file path") is not { } text) return null;
        if (text.Length > 0) return text;
        r.Error(path, "must be a PEM file path");
        return null;
    }

    /// <summary><c>prox.tls</c>.</summary>
    public static TlsConfig Bind(ConfigReader r, ConfigNode.Map prox)
    {
        const string path = "prox.tls";
        if (r.Section(prox, "tls", path, TlsKeys) is not { } tls) return TlsConfig.Default;

        var protocols = TlsConfig.Default.Protocols;
        var versionPath = ConfigPath.Child(path, "min-version");
        if (tls.Get("min-version") is { } versionNode && r.Text(versionNode, versionPath, "1.2 or 1.3") is { } version)
        {
            switch (version)
            {
                case "1.2" or "TLSv1.2":
                    break;
                case "1.3" or "TLSv1.3":
                    protocols = SslProtocols.Tls13;
                    break;
                default:
                    r.Error(versionPath, $"must be 1.2 or 1.3, got '{ConfigReader.Clip(version)}' (older versions are not offered)");
                    break;
            }
        }

        var certificates = ImmutableArray.CreateBuilder<TlsCertificateConfig>();
        var listPath = ConfigPath.Child(path, "certificates");
        if (tls.Get("certificates") is { } listNode && r.AsList(listNode, listPath, "a list of { hosts, certificate, key }") is { } list)
        {
            var seen = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < list.Items.Length; i++)
            {
                var itemPath = ConfigPath.Index(listPath, i);
                if (r.Block(list.Items[i], itemPath, CertificateKeys) is not { } entry) continue;
                var hosts = ImmutableArray.CreateBuilder<string>();
                var hostsPath = ConfigPath.Child(itemPath, "hosts");
                var hostItems = r.Strings(entry, itemPath, "hosts", "a host name or *.suffix pattern");
                if (hostItems is null or { Count: 0 })
                    r.Error(hostsPath, "must list the host names this certificate is chosen for (SNI), e.g. [\"api.example.com\", \"*.example.com\"]");
                foreach (var (text, hostPath) in hostItems ?? [])
                {
                    if (!ConfigValues.TryParseHostPattern(text, out var pattern, out var error))
                        r.Error(hostPath, error);
                    else if (seen.TryGetValue(pattern, out var first))
                        r.Error(hostPath, $"'{pattern}' is already served by {first}");
                    else
                    {
                        seen[pattern] = itemPath;
                        hosts.Add(pattern);
                    }
                }
                var cert = PemFile(r, entry, itemPath, "certificate");
                var key = PemFile(r, entry, itemPath, "key");
                if (cert is null && entry.Get("certificate") is null) r.Error(ConfigPath.Child(itemPath, "certificate"), "missing: the PEM certificate (chain) file");
                if (key is null && entry.Get("key") is null) r.Error(ConfigPath.Child(itemPath, "key"), "missing: the PEM private key file");
                if (cert is not null && key is not null)
                    certificates.Add(new TlsCertificateConfig(hosts.ToImmutable(), cert, key, itemPath));
            }
        }
        return new TlsConfig(certificates.ToImmutable(), protocols);
    }

    /// <summary><c>prox.limits.http2</c>; Kestrel's defaults for what is not set.</summary>
    public static Http2LimitsConfig Http2Limits(ConfigReader r, ConfigNode.Map limits)
    {
        const string path = "prox.limits.http2";
        var d = Http2LimitsConfig.Default;
        if (r.Section(limits, "http2", path, Http2Keys) is not { } h2) return d;
        return new Http2LimitsConfig(
            r.Int(h2, path, "max-streams-per-connection", d.MaxStreamsPerConnection, 1, int.MaxValue),
            Size(r, h2, path, "header-table-size", d.HeaderTableSize, 0, int.MaxValue),
            Size(r, h2, path, "max-frame-size", d.MaxFrameSize, 16 * 1024, 16 * 1024 * 1024 - 1),
            Size(r, h2, path, "max-request-header-field-size", d.MaxRequestHeaderFieldSize, 1, int.MaxValue),
            Size(r, h2, path, "initial-connection-window-size", d.InitialConnectionWindowSize, 64 * 1024 - 1, int.MaxValue),
            Size(r, h2, path, "initial-stream-window-size", d.InitialStreamWindowSize, 64 * 1024 - 1, int.MaxValue));
    }

    /// <summary>A byte count (<c>16KiB</c>, <c>1MiB</c> or plain bytes) within the range HTTP/2 and Kestrel allow.</summary>
    private static int Size(ConfigReader r, ConfigNode.Map map, string parent, string key, int fallback, int min, int max)
    {
        var path = ConfigPath.Child(parent, key);
        if (map.Get(key) is not { } node || r.Text(node, path, "a size such as 64KiB") is not { } text) return fallback;
        if (ConfigValues.TryParseSize(text, out var bytes, out _) && bytes is { } b && b >= min && b <= max) return (int)b;
        r.Error(path, $"must be a size from {min} to {max} bytes (e.g. 64KiB), got '{ConfigReader.Clip(text)}'");
        return fallback;
    }
}
