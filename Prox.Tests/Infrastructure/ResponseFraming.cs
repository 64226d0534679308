using System.Globalization;
using System.Text;

namespace Prox.Tests.Infrastructure;

/// <summary>
/// Follows HTTP/1.1 response framing (RFC 9112 §6) one byte at a time, so a relay knows which bytes are a response's
/// header block, which its body, and where the next response starts: Content-Length, chunked (extensions and
/// trailers skipped), interim 1xx, bodiless 204/304, and bodies delimited by the connection's close.
/// </summary>
internal sealed class ResponseFraming
{
    private enum State { Head, Length, ChunkSize, ChunkData, ChunkDataEnd, Trailers, UntilClose }

    private readonly StringBuilder _line = new();
    private readonly StringBuilder _head = new();
    private State _state = State.Head;
    private long _remaining;

    /// <summary>The next byte starts a new response (or an interim response's successor).</summary>
    public bool AtStart { get; private set; } = true;

    /// <summary>Takes the next byte of the stream; true when it belongs to a response body (chunk framing included).</summary>
    public bool Next(byte b)
    {
        var wasStart = AtStart;
        AtStart = false;
        switch (_state)
        {
            case State.Head:
                if (wasStart) _head.Clear();
                _head.Append((char)b);
                if (_head.Length >= 4 && _head[^1] == '\n' && _head[^2] == '\r' && _head[^3] == '\n' && _head[^4] == '\r')
                    EndHead();
                return false;
            case State.Length:
                if (--_remaining == 0) Complete();
                return true;
            case State.ChunkSize:
                if (TakeLine(b) is { } size)
                {
                    var hex = size.Split(';')[0].Trim();
                    _remaining = long.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    _state = _remaining == 0 ? State.Trailers : State.ChunkData;
                }
                return true;
            case State.ChunkData:
                if (--_remaining == 0) _state = State.ChunkDataEnd;
                return true;
            case State.ChunkDataEnd:
                if (TakeLine(b) is not null) _state = State.ChunkSize;
                return true;
            case State.Trailers:
                if (TakeLine(b) is { Length: 0 }) Complete();
                return true;
            default:
                return true;
        }
    }

    private string? TakeLine(byte b)
    {
        if (b != '\n')
        {
            if (b != '\r') _line.Append((char)b);
            return null;
        }
        var line = _line.ToString();
        _line.Clear();
        return line;
    }

    private void EndHead()
    {
        var lines = _head.ToString().Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        long? length = null;
        var chunked = false;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) continue;
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                length = long.Parse(value, CultureInfo.InvariantCulture);
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                chunked = value.Contains("chunked", StringComparison.OrdinalIgnoreCase);
        }
        if (status is >= 100 and < 200 and not 101)
        {
            _head.Clear(); // an interim response: the final one follows, under the same fault
            return;
        }
        if (status is 204 or 304 || (!chunked && length == 0))
        {
            Complete();
            return;
        }
        (_state, _remaining) = chunked ? (State.ChunkSize, 0L) : length is { } l ? (State.Length, l) : (State.UntilClose, 0L);
    }

    private void Complete()
    {
        _state = State.Head;
        AtStart = true;
    }
}
