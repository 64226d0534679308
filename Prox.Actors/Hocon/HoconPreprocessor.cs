namespace Prox.Actors.Hocon;

/// <summary>
/// Checks HOCON text against the grammar Akka's built-in parser handles correctly, and resolves
/// <c>${NAME}</c> / <c>${?NAME}</c> substitutions from environment variables, before Akka sees the text.
/// </summary>
/// <remarks>
/// <para>
/// Hand-written because no served package fits: the only HOCON parser served to this project is the one inside
/// Akka 1.5 (<c>Akka.Configuration</c>), and it is the parser this class guards. This is not a second parser: it only
/// recognises the structure (it never builds values), rejects what Akka would read wrongly or hang on, bounds the
/// nesting, refuses <c>include</c>, and rewrites the text Akka then parses (<see cref="HoconRewrite"/>).
/// </para>
/// <para>Akka 1.5's built-in HOCON parser cannot be handed untrusted text directly:</para>
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
internal sealed class HoconPreprocessor : HoconScanner
{
    /// <summary>Deepest nesting accepted, counting brackets and dotted key parts; Akka's parser recurses per level.</summary>
    public const int MaxNesting = 64;

    /// <summary>Marks a required substitution whose variable is unset; <see cref="ConfigNode"/> turns it into an error at the value's path.</summary>
    public const char UnsetMarker = '\u0001';

    public readonly record struct Outcome(string? Text, string? Error);

    private readonly Func<string, string?> _getEnvironmentVariable;
    private readonly HoconRewrite _rewrite;

    private HoconPreprocessor(string text, Func<string, string?> getEnvironmentVariable)
        : base(text)
    {
        _getEnvironmentVariable = getEnvironmentVariable;
        _rewrite = new HoconRewrite(text);
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
        return new Outcome(preprocessor._rewrite.Apply() + "\n", null);
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
            _rewrite.Replace(_pos, _pos + 1, " ");
            _pos++;
            return true;
        }
        if (Peek is not ('=' or ':'))
            throw Unexpected($"expected '=', ':' or '{{' after key '{key.Text}'");

        _pos++;
        var value = Value(valueDepth);
        _rewrite.Resolve(value, keyStart);
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
            _rewrite.Resolve(element, element.Start);
            if (element.Comma)
                continue;
            SkipSpacesAndTabs();
            if (!AtEnd && Peek != ']' && !AtLineEndOrComment)
                throw Unexpected("separate list elements with ',' or new lines; quote values such as URLs and host:port");
            separated = false;
        }
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
}
