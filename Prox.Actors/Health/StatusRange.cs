using System.Globalization;

namespace Prox.Actors.Health;

/// <summary>
/// An inclusive range of HTTP status codes a health check accepts. Operators write ranges the way
/// HAProxy's <c>http-check expect status</c> and Envoy's <c>expected_statuses</c> let them, so one
/// list can say "any 2xx, plus 301" without enumerating codes.
/// </summary>
/// <param name="Low">Lowest accepted status, inclusive.</param>
/// <param name="High">Highest accepted status, inclusive.</param>
public readonly record struct StatusRange(int Low, int High)
{
    /// <summary>Every 2xx: what a probe accepts when the operator lists no statuses.</summary>
    public static readonly StatusRange Success = new(200, 299);

    /// <summary>True when <paramref name="status"/> lies in the range; 0 ("no response") never does.</summary>
    public bool Contains(int status) => status >= Low && status <= High;

    /// <summary>
    /// Parses <c>"200"</c>, <c>"200-299"</c> or <c>"2xx"</c> (any case). Codes must be three digits in
    /// 100..599 and a range must not be reversed, so a typo fails config validation instead of silently
    /// accepting nothing.
    /// </summary>
    public static bool TryParse(string? text, out StatusRange range)
    {
        range = default;
        if (text is null) return false;
        var t = text.Trim();

        if (t.Length == 3 && t[0] is >= '1' and <= '5'
            && (t[1] is 'x' or 'X') && (t[2] is 'x' or 'X'))
        {
            int hundred = (t[0] - '0') * 100;
            range = new StatusRange(hundred, hundred + 99);
            return true;
        }

        var dash = t.IndexOf('-');
        if (dash < 0)
        {
            if (!TryParseCode(t, out var code)) return false;
            range = new StatusRange(code, code);
            return true;
        }

        if (!TryParseCode(t[..dash].Trim(), out var low) || !TryParseCode(t[(dash + 1)..].Trim(), out var high)
            || low > high)
            return false;
        range = new StatusRange(low, high);
        return true;
    }

    /// <summary>The canonical text form, which <see cref="TryParse"/> reads back.</summary>
    public override string ToString() =>
        Low == High ? Low.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{Low}-{High}");

    private static bool TryParseCode(string s, out int code)
    {
        code = 0;
        // NumberStyles.None: no sign, no whitespace, no thousands separators; length 3 rules out "0200"
        return s.Length == 3
            && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out code)
            && code is >= 100 and <= 599;
    }
}
