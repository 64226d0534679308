using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Prox.Actors.Config;

/// <summary>
/// Checks HOCON text against the grammar Akka's built-in parser handles correctly, and resolves
/// <c>${NAME}</c> / <c>${?NAME}</c> substitutions from environment variables, before Akka sees the text.
/// </summary>
/// <remarks>
/// Akka 1.5's built-in HOCON parser cannot be handed untrusted text directly:
/// <list type="bullet">
/// <item>it tokenizes <c>${?NAME}</c> as an empty-path substitution that resolves to the root object,
/// so a later <c>ToString</c>/<c>GetString</c> recurses until the stack overflows;</item>
/// <item>it never reads environment variables, and self-referential substitutions (<c>a = ${a}</c>)
/// overflow the stack;</item>
/// <item>on malformed structure (a key without <c>=</c>, <c>[*.example.com]</c>, <c>[1, }</c>) it skips
/// tokens it does not expect and can end up looping forever;</item>
/// <item>it accepts unterminated strings and unbalanced brackets silently, and rejects a <c>,</c> after
/// <c>key { … }</c>.</item>
/// </list>
/// A stack overflow or an endless loop cannot be caught, so this recognizer accepts only text whose
/// structure Akka reads the same way, and replaces every substitution with plain text: Akka never
/// resolves a substitution itself.
/// </remarks>
internal sealed class HoconPreprocessor
{
    /// <summary>Deepest nesting accepted, counting brackets and dotted key parts; Akka's parser recurses per level.</summary>
    public const int MaxNesting = 64;

    /// <summary>Marks a required substitution whose variable is unset; <see cref="ConfigNode"/> turns it into an error at the value's path.</summary>
    public const char UnsetMarker = '\u0001';

    // Akka's tokenizer: characters that end unquoted text (keys also end at '.').
    private const string NotInUnquotedText = "$\"{}[]:=,#`^?!@*&\\";
    private const string NotInUnquotedKey = NotInUnquotedText + ".";
    private const string ForbiddenUnquoted = "`^?!@*&\\";

    public readonly record struct Outcome(string? Text, string? Error);

    private readonly record struct Edit(int Start, int End, string Replacement);

    /// <param name="Value">The environment variable's value; null when unset.</param>
    private sealed record Substitution(int Start, int End, string Name, bool Optional, string? Value);

    /// <param name="End">End of the value text.</param>
    /// <param name="AfterComma">End including the ',' that followed the value, or <paramref name="End"/> when none did.</param>
    /// <param name="Substitutions">Substitutions that are direct parts of the value (not inside a nested object or list).</param>
    /// <param name="OnlySubstitutions">True when every part of the value is a substitution.</param>
    private readonly record struct ValueSpan(
        int Start, int End, int AfterComma, IReadOnlyList<Substitution> Substitutions, bool OnlySubstitutions)
    {
        public bool Comma => AfterComma > End;
    }

    private sealed class SyntaxException(int index, string message) : Exception(message)
    {
        public int Index { get; } = index;
    }

    private readonly string _text;
    private readonly Func<string, string?> _getEnvironmentVariable;
    private readonly List<Edit> _edits = [];
    private int _pos;

    private HoconPreprocessor(string text, Func<string, string?> getEnvironmentVariable)
    {
        _text = text;
        _getEnvironmentVariable = getEnvironmentVariable;
    }

    /// <summary>Returns the text with substitutions resolved, or the first syntax error with its line and column.</summary>
    public static Outcome Prepare(string text, Func<string, string?> getEnvironmentVariable)
    {
        var preprocessor = new HoconPreprocessor(text, getEnvironmentVariable);
        try
        {
            preprocessor.Document();
        }
        catch (SyntaxException ex)
        {
            return new Outcome(null, $"{Position(text, ex.Index)}: {ex.Message}");
        }
        // Akka misses a comment marker in the very last character, so never end on one.
        return new Outcome(preprocessor.Apply() + "\n", null);
    }

    /// <summary>1-based "line L, column C" of a character index.</summary>
    public static string Position(string text, int index)
    {
        index = Math.Clamp(index, 0, text.Length);
        var line = 1 + text.AsSpan(0, index).Count('\n');
        var lineStart = index == 0 ? 0 : text.LastIndexOf('\n', index - 1) + 1;
        return $"line {line}, column {index - lineStart + 1}";
    }

    // ---- grammar ----

    private void Document()
    {
        SkipWhitespaceAndComments();
        if (!AtEnd && Peek == '{')
        {
            var open = _pos++;
            ObjectBody(open, 1);
            SkipWhitespaceAndComments();
            if (!AtEnd)
                throw Error("unexpected content after the closing '}' of the root object");
        }
        else
        {
            ObjectBody(-1, 0);
        }
    }

    /// <param name="open">Index of the '{', or -1 for a root object without braces.</param>
    private void ObjectBody(int open, int depth)
    {
        if (depth > MaxNesting)
            throw Error(open, $"nested more than {MaxNesting} levels deep");
        while (true)
        {
            SkipWhitespaceAndComments();
            if (AtEnd)
            {
                if (open < 0)
                    return;
                throw Error(open, "'{' is never closed");
            }
            switch (Peek)
            {
                case '}' when open < 0:
                    throw Error("unexpected '}' with nothing open");
                case '}':
                    _pos++;
                    return;
                case ']':
                    throw Error(open < 0 ? "unexpected ']' with nothing open" : $"unexpected ']': the '{{' opened at {Position(_text, open)} is still open");
            }

            if (Field(depth))
                continue;
            SkipSpacesAndTabs();
            if (!AtEnd && !AtLineEndOrComment && Peek != '}')
                throw Unexpected("put each field on its own line or separate fields with ','");
        }
    }

    /// <summary>Parses <c>key = value</c>, <c>key : value</c> or <c>key { … }</c>; returns whether a ',' followed.</summary>
    private bool Field(int depth)
    {
        var keyStart = _pos;
        var key = KeyPath();
        var valueDepth = depth + key.Parts;
        SkipWhitespaceAndComments();
        if (AtEnd)
            throw Error(keyStart, $"key '{key.Text}' has no value");

        if (Peek == '{')
        {
            var open = _pos++;
            ObjectBody(open, valueDepth);
            SkipSpacesAndTabs();
            if (AtEnd || Peek != ',')
                return false;
            // Akka throws on a ',' after `key { … }` (it only expects one after `key = value`); a space means the same.
            _edits.Add(new Edit(_pos, _pos + 1, " "));
            _pos++;
            return true;
        }
        if (Peek is not ('=' or ':'))
            throw Unexpected($"expected '=', ':' or '{{' after key '{key.Text}'");

        _pos++;
        var value = Value(valueDepth);
        Resolve(value, keyStart);
        return value.Comma;
    }

    private (int Parts, string Text) KeyPath()
    {
        var start = _pos;
        var parts = 0;
        while (true)
        {
            if (++parts > MaxNesting)
                throw Error($"key has more than {MaxNesting} dotted parts");
            if (!AtEnd && Peek == '"')
            {
                // Akka reads keys without triple-quote support, so `"""x"""` would not mean what it says.
                if (IsTripleQuote)
                    throw Error("triple-quoted keys are not supported");
                QuotedString();
            }
            else if (IsUnquotedKeyChar(_pos))
            {
                var runStart = _pos;
                // Akka keeps spaces inside an unquoted key ("a b" is one key) and trims the ends.
                while (!AtEnd && (Peek is ' ' or '\t' || IsUnquotedKeyChar(_pos)))
                    _pos++;
                if (_text[runStart.._pos].Trim() == "include" && !AtEnd && Peek == '"')
                    throw Error(runStart, "include is not supported; keep the config in one file");
            }
            else
            {
                throw AtEnd ? Error("expected a key") : Unexpected("expected a key");
            }

            SkipSpacesAndTabs();
            if (AtEnd || Peek != '.')
                return (parts, _text[start.._pos].Trim());
            _pos++;
            SkipSpacesAndTabs();
        }
    }

    /// <summary>A value, possibly a concatenation of parts on one line, and an optional trailing ','.</summary>
    private ValueSpan Value(int depth)
    {
        // like Akka, allow the value to start on a later line
        SkipWhitespaceAndComments();
        if (AtEnd)
            throw Error("missing value at the end of the text");
        if (!IsValueStart)
            throw Unexpected("expected a value");

        var start = _pos;
        var substitutions = new List<Substitution>();
        var parts = 0;
        int end;
        while (true)
        {
            parts++;
            ValuePart(depth, substitutions);
            end = _pos;
            SkipSpacesAndTabs();
            if (AtEnd || !IsValueStart)
                break;
        }

        var afterComma = end;
        if (!AtEnd && Peek == ',')
            afterComma = ++_pos;
        return new ValueSpan(start, end, afterComma, substitutions, parts == substitutions.Count);
    }

    private void ValuePart(int depth, List<Substitution> substitutions)
    {
        switch (Peek)
        {
            case '"' when IsTripleQuote:
            {
                var close = _text.IndexOf("\"\"\"", _pos + 3, StringComparison.Ordinal);
                if (close < 0)
                    throw Error("unterminated \"\"\" string");
                _pos = close + 3;
                return;
            }
            case '"':
                QuotedString();
                return;
            case '{':
            {
                var open = _pos++;
                ObjectBody(open, depth + 1);
                return;
            }
            case '[':
            {
                var open = _pos++;
                ListBody(open, depth + 1);
                return;
            }
            case '$':
                substitutions.Add(SubstitutionToken());
                return;
        }

        var runStart = _pos;
        while (!AtEnd && IsUnquotedTextChar(_pos))
            _pos++;
        if (!AtEnd && Peek is '=' or ':')
        {
            var text = _text[runStart.._pos];
            throw Error($"unexpected '{Peek}' after '{text}' (quote values that contain '=' or ':', such as URLs and host:port)");
        }
    }

    private void ListBody(int open, int depth)
    {
        if (depth > MaxNesting)
            throw Error(open, $"nested more than {MaxNesting} levels deep");
        var separated = true;
        while (true)
        {
            SkipWhitespaceAndComments();
            if (AtEnd)
                throw Error(open, "'[' is never closed");
            switch (Peek)
            {
                case ']':
                    _pos++;
                    return;
                case '}':
                    throw Error($"unexpected '}}': the '[' opened at {Position(_text, open)} is still open");
                case ',' when separated:
                    throw Error("unexpected ',' (empty list element)");
                case ',':
                    _pos++;
                    separated = true;
                    continue;
            }

            var element = Value(depth);
            Resolve(element, element.Start);
            if (element.Comma)
                continue;
            SkipSpacesAndTabs();
            if (!AtEnd && Peek != ']' && !AtLineEndOrComment)
                throw Unexpected("separate list elements with ',' or new lines; quote values such as URLs and host:port");
            separated = false;
        }
    }

    private void QuotedString()
    {
        var start = _pos++;
        while (!AtEnd && Peek != '"')
        {
            if (Peek == '\n')
                break;
            if (Peek == '\\')
                Escape();
            else
                _pos++;
        }
        if (AtEnd || Peek != '"')
            throw Error(start, "unterminated string (a quoted string must end on the same line)");
        _pos++;
    }

    private void Escape()
    {
        var start = _pos++;
        var code = AtEnd ? '\0' : _text[_pos++];
        if ("\"\\/bfnrt".Contains(code) && code != '\0')
            return;
        if (code == 'u' && _pos + 4 <= _text.Length && _text.Substring(_pos, 4).All(char.IsAsciiHexDigit))
        {
            _pos += 4;
            return;
        }
        throw Error(start, code == 'u' ? "invalid \\u escape (expected 4 hex digits)" : $"invalid escape '\\{code}' in string");
    }

    private Substitution SubstitutionToken()
    {
        var start = _pos;
        if (_pos + 1 >= _text.Length || _text[_pos + 1] != '{')
            throw Unexpected("substitutions look like ${?NAME}; quote text that contains '$'");
        var close = _text.IndexOf('}', _pos + 2);
        var newline = _text.IndexOf('\n', _pos + 2);
        if (close < 0 || (newline >= 0 && newline < close))
            throw Error("unterminated substitution (missing '}')");
        var inner = _text[(_pos + 2)..close].Trim();
        var optional = inner.StartsWith('?');
        var name = (optional ? inner[1..] : inner).Trim();
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            throw Error($"invalid substitution '${{{inner}}}' (expected ${{NAME}} or ${{?NAME}})");
        _pos = close + 1;
        return new Substitution(start, _pos, name, optional, _getEnvironmentVariable(name));
    }

    // ---- substitution ----

    /// <summary>
    /// Replaces the value's substitutions with quoted text. HOCON: when a value consists only of undefined
    /// <c>${?X}</c>s, a field is not set at all (an earlier value stays) and a list gets no element;
    /// inside a longer concatenation an undefined <c>${?X}</c> is empty text.
    /// </summary>
    /// <param name="removeFrom">Where the field (its key) or list element starts.</param>
    private void Resolve(ValueSpan value, int removeFrom)
    {
        if (value.Substitutions.Count == 0)
            return;
        if (value.OnlySubstitutions && value.Substitutions.All(s => s.Optional && s.Value is null))
        {
            _edits.Add(new Edit(removeFrom, value.AfterComma, KeepNewlines(removeFrom, value.AfterComma)));
            return;
        }
        var whole = value.OnlySubstitutions && value.Substitutions.Count == 1;
        foreach (var substitution in value.Substitutions)
            _edits.Add(new Edit(substitution.Start, substitution.End, Replacement(substitution, whole)));
    }

    private static string Replacement(Substitution substitution, bool whole) => substitution.Value switch
    {
        // an empty "" glued to a neighbouring quote would read as """ (a triple-quoted string)
        "" when !whole => "",
        { } value => Quote(value),
        null when substitution.Optional => "",
        null => Quote($"{UnsetMarker}{substitution.Name}{UnsetMarker}"),
    };

    // Keeps line numbers in Akka's error messages aligned with the original text.
    private string KeepNewlines(int start, int end) => new('\n', _text.AsSpan(start, end - start).Count('\n'));

    private static string Quote(string value) =>
        "\"" + JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).Value + "\"";

    private string Apply()
    {
        if (_edits.Count == 0)
            return _text;
        var sb = new StringBuilder(_text.Length);
        var cursor = 0;
        foreach (var edit in _edits.OrderBy(e => e.Start))
        {
            var start = Math.Max(edit.Start, cursor);
            sb.Append(_text, cursor, start - cursor).Append(edit.Replacement);
            cursor = Math.Max(cursor, edit.End);
        }
        return sb.Append(_text, cursor, _text.Length - cursor).ToString();
    }

    // ---- lexical helpers ----

    private bool AtEnd => _pos >= _text.Length;

    private char Peek => _text[_pos];

    private bool IsTripleQuote => string.CompareOrdinal(_text, _pos, "\"\"\"", 0, 3) == 0;

    private bool IsCommentStart(int i) =>
        _text[i] == '#' || (_text[i] == '/' && i + 1 < _text.Length && _text[i + 1] == '/');

    private bool AtLineEndOrComment => Peek is '\n' or '\r' || IsCommentStart(_pos);

    private bool IsValueStart =>
        Peek is '"' or '{' or '['
        || (Peek == '$' && _pos + 1 < _text.Length && _text[_pos + 1] == '{')
        || IsUnquotedTextChar(_pos);

    private bool IsUnquotedTextChar(int i) =>
        !char.IsWhiteSpace(_text[i]) && !IsCommentStart(i) && !NotInUnquotedText.Contains(_text[i]);

    private bool IsUnquotedKeyChar(int i) =>
        i < _text.Length && !char.IsWhiteSpace(_text[i]) && !IsCommentStart(i) && !NotInUnquotedKey.Contains(_text[i]);

    private void SkipSpacesAndTabs()
    {
        while (!AtEnd && Peek is ' ' or '\t')
            _pos++;
    }

    private void SkipWhitespaceAndComments()
    {
        while (!AtEnd)
        {
            if (char.IsWhiteSpace(Peek))
            {
                _pos++;
            }
            else if (IsCommentStart(_pos))
            {
                var eol = _text.IndexOf('\n', _pos);
                _pos = eol < 0 ? _text.Length : eol;
            }
            else
            {
                return;
            }
        }
    }

    private SyntaxException Error(string message) => new(_pos, message);

    private static SyntaxException Error(int index, string message) => new(index, message);

    private SyntaxException Unexpected(string hint)
    {
        var c = Peek;
        var why = c switch
        {
            _ when ForbiddenUnquoted.Contains(c) => "quote values that contain it",
            '$' => "substitutions look like ${?NAME}; quote text that contains '$'",
            _ => hint,
        };
        var shown = char.IsControl(c) || char.IsWhiteSpace(c) ? $"\\u{(int)c:x4}" : c.ToString();
        return new SyntaxException(_pos, $"unexpected '{shown}' ({why})");
    }
}
