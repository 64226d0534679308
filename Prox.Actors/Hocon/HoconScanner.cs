namespace Prox.Actors.Hocon;

/// <summary>
/// The lexical half of <see cref="HoconPreprocessor"/>: a cursor over the text that skips whitespace and comments,
/// reads quoted strings, classifies characters the way Akka's tokenizer does, and builds syntax errors that carry
/// their position. The grammar (what may follow what) is in <see cref="HoconPreprocessor"/>.
/// </summary>
internal abstract class HoconScanner
{
    // Akka's tokenizer: characters that end unquoted text (keys also end at '.').
    private const string NotInUnquotedText = "$\"{}[]:=,#`^?!@*&\\";
    private const string NotInUnquotedKey = NotInUnquotedText + ".";
    private const string ForbiddenUnquoted = "`^?!@*&\\";

    private protected sealed class SyntaxException(int index, string message) : Exception(message)
    {
        public int Index { get; } = index;
    }

    private protected readonly string _text;
    private protected int _pos;

    private protected HoconScanner(string text) => _text = text;

    /// <summary>1-based "line L, column C" of a character index.</summary>
    public static string Position(string text, int index)
    {
        index = Math.Clamp(index, 0, text.Length);
        var line = 1 + text.AsSpan(0, index).Count('\n');
        var lineStart = index == 0 ? 0 : text.LastIndexOf('\n', index - 1) + 1;
        return $"line {line}, column {index - lineStart + 1}";
    }

    private protected void QuotedString()
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

    // ---- lexical helpers ----

    private protected bool AtEnd => _pos >= _text.Length;

    private protected char Peek => _text[_pos];

    private protected bool IsTripleQuote => string.CompareOrdinal(_text, _pos, "\"\"\"", 0, 3) == 0;

    private protected bool IsCommentStart(int i) =>
        _text[i] == '#' || (_text[i] == '/' && i + 1 < _text.Length && _text[i + 1] == '/');

    private protected bool AtLineEndOrComment => Peek is '\n' or '\r' || IsCommentStart(_pos);

    private protected bool IsValueStart =>
        Peek is '"' or '{' or '['
        || (Peek == '$' && _pos + 1 < _text.Length && _text[_pos + 1] == '{')
        || IsUnquotedTextChar(_pos);

    private protected bool IsUnquotedTextChar(int i) =>
        !char.IsWhiteSpace(_text[i]) && !IsCommentStart(i) && !NotInUnquotedText.Contains(_text[i]);

    private protected bool IsUnquotedKeyChar(int i) =>
        i < _text.Length && !char.IsWhiteSpace(_text[i]) && !IsCommentStart(i) && !NotInUnquotedKey.Contains(_text[i]);

    private protected void SkipSpacesAndTabs()
    {
        while (!AtEnd && Peek is ' ' or '\t')
            _pos++;
    }

    private protected void SkipWhitespaceAndComments()
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

    private protected SyntaxException Error(string message) => new(_pos, message);

    private protected static SyntaxException Error(int index, string message) => new(index, message);

    private protected SyntaxException Unexpected(string hint)
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
