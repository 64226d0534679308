using Prox.Actors.Hocon;
using Prox.Actors.Tls;

namespace Prox.Actors.Config;

/// <summary>
/// Binds <c>prox.listen</c>: each entry a <c>host:port</c> string or <c>{ address, tls { certificate, key },
/// protocols = [http1, http2] }</c>. The certificate files are read later (<c>Prox.Http/Tls/CertificateFiles</c>).
/// </summary>
internal static class ListenerConfigBinder
{
    private static readonly string[] ListenerKeys = ["address", "tls", "protocols"];
    private static readonly string[] ListenerTlsKeys = ["certificate", "key"];

    /// <summary>One entry or a list; each a <c>host:port</c> string or
    /// <c>{ address, tls { certificate, key }, protocols = [http1, http2] }</c>. Null when absent.</summary>
    public static List<(ListenAddress Address, string Path)>? Listeners(ConfigReader r, ConfigNode.Map prox)
    {
        const string path = "prox.listen";
        IEnumerable<(ConfigNode Node, string Path)> items;
        switch (prox.Get("listen"))
        {
            case null:
                return null;
            case ConfigNode.List { Items.IsEmpty: true }:
                r.Error(path, "must list at least one address");
                return null;
            case ConfigNode.List list:
                items = list.Items.Select((n, i) => (n, ConfigPath.Index(path, i)));
                break;
            case var one:
                items = [(one, path)];
                break;
        }

        var result = new List<(ListenAddress Address, string Path)>();
        foreach (var (node, itemPath) in items)
        {
            if (Listener(r, node, itemPath) is not { } address) continue;
            if (address.Port != 0 && result.Any(x => x.Address.SameEndpoint(address)))
                r.Error(itemPath, $"duplicate address {address}");
            else
                result.Add((address, itemPath));
        }
        return result;
    }

    private static ListenAddress? Listener(ConfigReader r, ConfigNode node, string path)
    {
        if (node is ConfigNode.Text text)
            return Address(r, text.Value, path);
        if (node is not ConfigNode.Map)
        {
            r.Text(node, path, "a host:port string or { address = …, tls { … }, protocols = [ … ] }");
            return null;
        }
        if (r.Block(node, path, ListenerKeys) is not { } map) return null;
        var addressPath = ConfigPath.Child(path, "address");
        ListenAddress? address = null;
        if (map.Get("address") is not { } addressNode)
            r.Error(addressPath, "missing: the host:port to listen on, e.g. address = \"0.0.0.0:8443\"");
        else if (r.Text(addressNode, addressPath, "a host:port string") is { } addressText)
            address = Address(r, addressText, addressPath);

        ListenerTls? tls = null;
        var tlsPath = ConfigPath.Child(path, "tls");
        if (r.Section(map, "tls", tlsPath, ListenerTlsKeys) is { } tlsMap)
        {
            var cert = TlsConfigBinder.PemFile(r, tlsMap, tlsPath, "certificate");
            var key = TlsConfigBinder.PemFile(r, tlsMap, tlsPath, "key");
            if ((cert is null) != (key is null))
                r.Error(tlsPath, "give both certificate and key (PEM files), or neither to use the first prox.tls.certificates entry");
            tls = new ListenerTls(cert, key, tlsPath);
        }

        var protocols = Protocols(r, map, path) ?? (tls is null ? HttpProtocolSet.Http1 : HttpProtocolSet.Http1 | HttpProtocolSet.Http2);
        return address is null ? null : address with { Tls = tls, Protocols = protocols };
    }

    private static ListenAddress? Address(ConfigReader r, string text, string path)
    {
        if (AddressValues.TryParseListenAddress(text, out var address, out var error)) return address;
        r.Error(path, error);
        return null;
    }

    private static HttpProtocolSet? Protocols(ConfigReader r, ConfigNode.Map map, string path)
    {
        if (r.Strings(map, path, "protocols", "http1 or http2") is not { } items) return null;
        HttpProtocolSet set = 0;
        foreach (var (text, itemPath) in items)
        {
            switch (text.ToLowerInvariant())
            {
                case "http1" or "http1.1" or "http/1.1":
                    set |= HttpProtocolSet.Http1;
                    break;
                case "http2" or "h2" or "h2c":
                    set |= HttpProtocolSet.Http2;
                    break;
                case "http3" or "h3":
                    r.Error(itemPath, "HTTP/3 is not supported (no QUIC library on this platform build); use http1 and http2");
                    break;
                default:
                    r.Error(itemPath, $"unknown protocol '{ConfigReader.Clip(text)}' (use http1 or http2)");
                    break;
            }
        }
        if (set == 0 && items.Count == 0)
            r.Error(ConfigPath.Child(path, "protocols"), "must list at least one of http1, http2");
        return set == 0 ? null : set;
    }

    /// <summary>A TLS listener needs a default certificate: its own, or the first <c>prox.tls.certificates</c> entry.</summary>
    public static void CheckListeners(ConfigReader r, List<(ListenAddress Address, string Path)>? listen, TlsConfig tls)
    {
        foreach (var (address, _) in listen ?? [])
        {
            if (address.Tls is { Certificate: null } t && tls.Certificates.IsEmpty)
                r.Error(t.Path, "needs a certificate and key (PEM files) here or in prox.tls.certificates");
        }
    }
}
