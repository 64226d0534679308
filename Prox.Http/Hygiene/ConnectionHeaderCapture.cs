using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Prox.Http.Hygiene;

/// <summary>
/// Keeps the header names a request's <c>Connection</c> header nominates (RFC 9110 §7.6.1) that Kestrel would lose.
/// Kestrel replaces a Connection header whose only connection option is <c>keep-alive</c>, <c>close</c> or
/// <c>upgrade</c> with that option alone (its <c>HttpHeaders.ParseConnection</c> interns the value), so
/// <c>Connection: keep-alive, X-Hop</c> reaches the app as <c>keep-alive</c>, and <c>X-Hop</c>, hop-by-hop by the
/// sender's word, would be forwarded. Kestrel has no hook on header values, but it asks
/// <see cref="Selector"/> (its <c>RequestHeaderEncodingSelector</c>) how to decode each one: for Connection it gets an
/// encoding that decodes as usual and keeps the value, as the header block is parsed, in the connection's own async
/// flow; <see cref="Restore"/>, at the start of the request path (same flow, nothing awaited in between), puts it back.
/// Plain options (the common <c>keep-alive</c>) are not kept: a request costs nothing more than a name check per header.
/// </summary>
public static class ConnectionHeaderCapture
{
    /// <summary>What Kestrel decoded, per connection: set while the headers are parsed, taken by the request.</summary>
    private sealed class Slot
    {
        public string? Raw;
        public bool SawBadName;
    }

    // an AsyncLocal set during parsing lives in the connection's processing loop, so it is this connection's alone;
    // the Slot is mutable so the request can take the value without changing the execution context back
    private static readonly AsyncLocal<Slot?> Current = new();

    private static readonly CapturingEncoding Capturing = new();

    /// <summary>RFC 9110 §5.6.2 tchar: what a field name (a token, §5.1) may be made of.</summary>
    internal static readonly SearchValues<char> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>For <c>KestrelServerOptions.RequestHeaderEncodingSelector</c>: null (Kestrel's default decoding)
    /// for every header but Connection. Kestrel asks it once per header with the header's name, so it also notes a name
    /// that is not a token (<see cref="TakeBadName"/>) at no extra pass over the headers.</summary>
    public static readonly Func<string, Encoding?> Selector = static name =>
    {
        if (name.AsSpan().ContainsAnyExcept(TokenChars)) NoteBadName();
        return name.Length == 10 && name.Equals("Connection", StringComparison.OrdinalIgnoreCase) ? Capturing : null;
    };

    /// <summary>
    /// Whether Kestrel saw a header name that is not a token on this connection since the last call (HTTP/1.1: the
    /// selector runs in the connection's flow). It may have been a trailer of the previous request, so a true only
    /// means "look"; a false means every header name of this request was a token.
    /// </summary>
    public static bool TakeBadName()
    {
        if (Current.Value is not { SawBadName: true } slot) return false;
        slot.SawBadName = false;
        return true;
    }

    private static void NoteBadName()
    {
        var slot = Current.Value;
        if (slot is null) Current.Value = slot = new Slot();
        slot.SawBadName = true;
    }

    /// <summary>Puts back what Kestrel dropped from the request's Connection header, if it dropped anything.</summary>
    public static void Restore(HttpRequest req)
    {
        if (Current.Value is not { Raw: { } raw } slot) return;
        slot.Raw = null;
        var kept = req.Headers.Connection;
        // Kestrel only ever reduces the header to one bare option; any other value is still whole
        if (kept.Count == 1 && IsOption(kept[0].AsSpan())) req.Headers.Connection = StringValues.Concat(kept, raw);
    }

    /// <summary>A connection option (<c>keep-alive</c>, <c>close</c>, <c>upgrade</c>) rather than a header name.</summary>
    public static bool IsOption(ReadOnlySpan<char> token) =>
        token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
        || token.Equals("close", StringComparison.OrdinalIgnoreCase)
        || token.Equals("upgrade", StringComparison.OrdinalIgnoreCase);

    private static void Keep(string value)
    {
        if (IsOption(value.AsSpan().Trim())) return; // nothing nominated: nothing to keep
        var slot = Current.Value;
        if (slot is null) Current.Value = slot = new Slot(); // once per connection
        // several Connection lines of one request are one list (RFC 9110 §5.3)
        slot.Raw = slot.Raw is null ? value : slot.Raw + ", " + value;
    }

    /// <summary>Kestrel's own header decoding (UTF-8, NUL refused), keeping the decoded value.</summary>
    private sealed class CapturingEncoding() : UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true)
    {
        public override unsafe int GetChars(byte* bytes, int byteCount, char* chars, int charCount)
        {
            var n = base.GetChars(bytes, byteCount, chars, charCount);
            var value = new ReadOnlySpan<char>(chars, n);
            if (value.Contains('\0')) throw new DecoderFallbackException("NUL in a header value.");
            Keep(value.ToString());
            return n;
        }
    }
}
