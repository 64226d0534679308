using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Prox.Actors.Config;

/// <summary>Pure parsers for the address formats of the root sections (listeners, trusted proxies, route hosts,
/// backend URLs). Each returns false with a message instead of throwing.</summary>
internal static partial class AddressValues
{
    [GeneratedRegex(@"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$")]
    private static partial Regex DottedQuad();

    /// <summary><c>host:port</c> where host is a dotted IPv4 address, <c>[IPv6]</c>, <c>localhost</c> or <c>*</c>.</summary>
    public static bool TryParseListenAddress(string text, out ListenAddress address, out string error)
    {
        address = null!;
        const string hint = "use host:port with an IPv4 address, [IPv6], localhost or *, e.g. 127.0.0.1:8080";
        var s = text.Trim();
        string host;
        string port;
        if (s.StartsWith('['))
        {
            var close = s.IndexOf(']');
            if (close < 0 || close + 1 >= s.Length || s[close + 1] != ':'
                || !IPAddress.TryParse(s[1..close], out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"'{text}' is not a listen address ({hint})";
                return false;
            }
            host = ip.ToString();
            port = s[(close + 2)..];
        }
        else
        {
            var colon = s.LastIndexOf(':');
            if (colon < 0)
            {
                error = $"'{text}' has no port ({hint})";
                return false;
            }
            host = s[..colon].ToLowerInvariant();
            port = s[(colon + 1)..];
            if (host.Contains(':'))
            {
                error = $"'{text}': IPv6 addresses must be in brackets, e.g. [::1]:8080";
                return false;
            }
            if (host is not ("*" or "localhost") && !DottedQuad().IsMatch(host))
            {
                error = $"'{text}' is not a listen address ({hint})";
                return false;
            }
        }
        if (port.Length is 0 or > 5 || !port.All(char.IsAsciiDigit) || int.Parse(port, CultureInfo.InvariantCulture) > 65535)
        {
            error = $"'{text}' has an invalid port (use 0-65535; 0 picks a free port)";
            return false;
        }
        address = new ListenAddress(host, int.Parse(port, CultureInfo.InvariantCulture));
        error = "";
        return true;
    }

    /// <summary>A CIDR range; a bare address means a single host (/32 or /128).</summary>
    public static bool TryParseNetwork(string text, out IPNetwork network, out string error)
    {
        network = default;
        error = "";
        var s = text.Trim();
        var slash = s.IndexOf('/');
        var addressPart = slash < 0 ? s : s[..slash];
        // IPAddress.TryParse also accepts "10" or "010.1" (legacy inet_aton forms); insist on the usual notation.
        var isV4 = DottedQuad().IsMatch(addressPart);
        if (!IPAddress.TryParse(addressPart, out var address) || (!isV4 && address.AddressFamily != AddressFamily.InterNetworkV6))
        {
            error = $"'{text}' is not an IP address or CIDR range (e.g. 10.0.0.0/8 or 192.168.1.10)";
            return false;
        }
        var maxBits = isV4 ? 32 : 128;
        var bits = maxBits;
        if (slash >= 0)
        {
            var prefix = s[(slash + 1)..];
            if (prefix.Length is 0 or > 3 || !prefix.All(char.IsAsciiDigit) || (bits = int.Parse(prefix, CultureInfo.InvariantCulture)) > maxBits)
            {
                error = $"'{text}' has an invalid prefix length (use /0 to /{maxBits})";
                return false;
            }
        }
        var masked = Mask(address, bits);
        if (!masked.Equals(address))
        {
            error = $"'{text}' has bits set beyond the /{bits} prefix (did you mean {masked}/{bits}?)";
            return false;
        }
        network = new IPNetwork(address, bits);
        return true;
    }

    private static IPAddress Mask(IPAddress address, int bits)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(bits - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }

    /// <summary>An absolute http(s) URL without credentials, query or fragment.</summary>
    public static bool TryParseBackendUrl(string text, out Uri url, out string error)
    {
        url = null!;
        var s = text.Trim();
        if (!Uri.TryCreate(s, UriKind.Absolute, out var parsed)
            || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(parsed.Host)
            || !s.StartsWith(parsed.Scheme + "://", StringComparison.OrdinalIgnoreCase))
        {
            error = $"'{text}' is not an absolute http(s) URL";
            return false;
        }
        if (parsed.UserInfo.Length > 0)
        {
            error = "must not contain credentials (user info)";
            return false;
        }
        if (s.Contains('?'))
        {
            error = "must not contain a query string";
            return false;
        }
        if (s.Contains('#'))
        {
            error = "must not contain a fragment";
            return false;
        }
        url = parsed;
        error = "";
        return true;
    }
}
