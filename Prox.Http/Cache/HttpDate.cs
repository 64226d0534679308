using System.Globalization;

namespace Prox.Http.Cache;

/// <summary>
/// HTTP-date (RFC 9110 §5.6.7) as a cache reads it: the three formats a recipient must accept and nothing else, so
/// that a malformed <c>Expires</c> counts as invalid (RFC 9111 §5.3: already expired) instead of as whatever a lenient
/// date parser makes of it. Case-insensitive (RFC 9111 §4.2), GMT only.
/// </summary>
public static class HttpDate
{
    private static readonly string[] Formats =
    [
        "ddd, dd MMM yyyy HH:mm:ss 'GMT'", // IMF-fixdate, the preferred format
        "dddd, dd-MMM-yy HH:mm:ss 'GMT'", // obsolete RFC 850
        "ddd MMM d HH:mm:ss yyyy", // obsolete asctime, day of month 10..31
        "ddd MMM  d HH:mm:ss yyyy", // asctime, day of month padded with a space
    ];

    /// <summary>True when <paramref name="text"/> is an HTTP-date in one of its three formats, exactly: the right
    /// padding, a day name that matches the date, and no other zone than GMT.</summary>
    public static bool TryParse(string? text, out DateTimeOffset date)
    {
        date = default;
        if (string.IsNullOrEmpty(text)) return false;
        var s = text.Trim();
        // the zone is a literal to the format parser, which matches it case-sensitively (names it already does not)
        if (s.EndsWith(" gmt", StringComparison.OrdinalIgnoreCase)) s = string.Concat(s.AsSpan(0, s.Length - 3), "GMT");
        for (var i = 0; i < Formats.Length; i++)
        {
            if (!DateTimeOffset.TryParseExact(s, Formats[i], CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d))
                continue;
            // the format parser forgives a missing pad or a one-digit hour; formatting back catches both
            if (!string.Equals(Format(d, i), s, StringComparison.OrdinalIgnoreCase)) return false;
            date = d;
            return true;
        }
        return false;
    }

    private static string Format(DateTimeOffset d, int format) => format switch
    {
        0 => d.ToString("r", CultureInfo.InvariantCulture),
        1 => d.ToString(Formats[1], CultureInfo.InvariantCulture),
        _ => string.Concat(d.ToString("ddd MMM ", CultureInfo.InvariantCulture),
            d.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2), d.ToString(" HH:mm:ss yyyy", CultureInfo.InvariantCulture)),
    };
}
