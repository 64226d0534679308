using System.Globalization;
using System.Text.Json;

namespace Prox.Actors.Hocon;

/// <summary>
/// Writes values as HOCON that the binders read back to exactly the same values, so the admin API can change a
/// route's backends by producing a new config text (a new version, diffable and revertible like any other).
/// </summary>
/// <remarks>
/// Knows no config section. Each capability writes its own block beside its binder (<c>HealthConfigBinder.Write</c>, …);
/// a route's backends are written by extension members in <c>Prox.Actors.Config</c> (<c>HoconWriter.Backends</c>,
/// <c>HoconWriter.WithBackends</c>), since only the root knows routes.
/// </remarks>
public static class HoconWriter
{
    /// <summary>A HOCON quoted string (JSON escaping; no substitution happens inside quotes).</summary>
    public static string Str(string s) => JsonSerializer.Serialize(s);

    /// <summary>Exact durations: whole milliseconds where possible, else microseconds.</summary>
    public static string Duration(TimeSpan t) =>
        t.Ticks % TimeSpan.TicksPerMillisecond == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{t.Ticks / TimeSpan.TicksPerMillisecond}ms")
            : string.Create(CultureInfo.InvariantCulture, $"{t.Ticks / 10}us");

    /// <summary>An integer in invariant culture.</summary>
    public static string Int(int i) => i.ToString(CultureInfo.InvariantCulture);

    /// <summary>A number that reads back to the same double.</summary>
    public static string Num(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>An object on one line from already written <c>key = value</c> fields.</summary>
    public static string Object(IEnumerable<string> fields) => "{ " + string.Join(", ", fields) + " }";
}
