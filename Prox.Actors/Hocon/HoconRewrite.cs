using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Prox.Actors.Hocon;

/// <summary>A substitution <c>${NAME}</c> or <c>${?NAME}</c> found in the text.</summary>
/// <param name="Value">The environment variable's value; null when unset.</param>
internal sealed record Substitution(int Start, int End, string Name, bool Optional, string? Value);

/// <summary>Where a value is in the text and which substitutions it is made of.</summary>
/// <param name="End">End of the value text.</param>
/// <param name="AfterComma">End including the ',' that followed the value, or <paramref name="End"/> when none did.</param>
/// <param name="Substitutions">Substitutions that are direct parts of the value (not inside a nested object or list).</param>
/// <param name="OnlySubstitutions">True when every part of the value is a substitution.</param>
internal readonly record struct ValueSpan(
    int Start, int End, int AfterComma, IReadOnlyList<Substitution> Substitutions, bool OnlySubstitutions)
{
    public bool Comma => AfterComma > End;
}

/// <summary>
/// The changes <see cref="HoconPreprocessor"/> makes to the text before Akka reads it: substitutions replaced by
/// quoted text (or removed together with their field), and the ',' Akka rejects after <c>key { … }</c> replaced by a
/// space. Edits are collected while the recognizer walks the text and applied in one pass at the end.
/// </summary>
internal sealed class HoconRewrite(string text)
{
    private readonly record struct Edit(int Start, int End, string Replacement);

    private readonly List<Edit> _edits = [];

    /// <summary>Replaces the characters from <paramref name="start"/> up to <paramref name="end"/>.</summary>
    public void Replace(int start, int end, string replacement) => _edits.Add(new Edit(start, end, replacement));

    /// <summary>
    /// Replaces the value's substitutions with quoted text. HOCON: when a value consists only of undefined
    /// <c>${?X}</c>s, a field is not set at all (an earlier value stays) and a list gets no element;
    /// inside a longer concatenation an undefined <c>${?X}</c> is empty text.
    /// </summary>
    /// <param name="removeFrom">Where the field (its key) or list element starts.</param>
    public void Resolve(ValueSpan value, int removeFrom)
    {
        if (value.Substitutions.Count == 0)
            return;
        if (value.OnlySubstitutions && value.Substitutions.All(s => s.Optional && s.Value is null))
        {
            Replace(removeFrom, value.AfterComma, KeepNewlines(removeFrom, value.AfterComma));
            return;
        }
        var whole = value.OnlySubstitutions && value.Substitutions.Count == 1;
        foreach (var substitution in value.Substitutions)
            Replace(substitution.Start, substitution.End, Replacement(substitution, whole));
    }

    /// <summary>The text with every edit applied.</summary>
    public string Apply()
    {
        if (_edits.Count == 0)
            return text;
        var sb = new StringBuilder(text.Length);
        var cursor = 0;
        foreach (var edit in _edits.OrderBy(e => e.Start))
        {
            var start = Math.Max(edit.Start, cursor);
            sb.Append(text, cursor, start - cursor).Append(edit.Replacement);
            cursor = Math.Max(cursor, edit.End);
        }
        return sb.Append(text, cursor, text.Length - cursor).ToString();
    }

    private static string Replacement(Substitution substitution, bool whole) => substitution.Value switch
    {
        // an empty "" glued to a neighbouring quote would read as """ (a triple-quoted string)
        "" when !whole => "",
        { } value => Quote(value),
        null when substitution.Optional => "",
        null => Quote($"{HoconPreprocessor.UnsetMarker}{substitution.Name}{HoconPreprocessor.UnsetMarker}"),
    };

    // Keeps line numbers in Akka's error messages aligned with the original text.
    private string KeepNewlines(int start, int end) => new('\n', text.AsSpan(start, end - start).Count('\n'));

    private static string Quote(string value) =>
        "\"" + JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).Value + "\"";
}
