using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Prox.Tests.Infrastructure;

/// <summary>
/// A raw HTTP/1.1 origin over loopback that resets connections the way real ones do: the first
/// <see cref="ResetsLeft"/> connections are reset as soon as they are accepted (a backend briefly failing), and with
/// <c>resetReused</c> a kept-alive connection is reset when a second request arrives on it (an origin whose keep-alive
/// timeout closed the connection just as the request went out). Every other request gets <c>200 ok</c>.
/// </summary>
public sealed class ResettingBackend : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly bool _resetReused;
    private readonly Task _accepting;
    private int _resetsLeft;
    private long _served;
    private long _resets;

    public ResettingBackend(int resetFirst = 0, bool resetReused = false)
    {
        _resetsLeft = resetFirst;
        _resetReused = resetReused;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
    public int ResetsLeft => Volatile.Read(ref _resetsLeft);
    public long Served => Interlocked.Read(ref _served);
    public long Resets => Interlocked.Read(ref _resets);

    private Task AcceptAsync() => Accepting.EachAsync(_listener, _stop.Token, socket =>
    {
        if (Interlocked.Decrement(ref _resetsLeft) >= 0)
        {
            Reset(socket);
            return;
        }
        Interlocked.Exchange(ref _resetsLeft, 0);
        _ = ServeAsync(socket);
    });

    private void Reset(Socket socket)
    {
        Interlocked.Increment(ref _resets);
        socket.LingerState = new LingerOption(true, 0); // close with RST, not FIN
        socket.Close();
    }

    private async Task ServeAsync(Socket socket)
    {
        var buffer = new byte[8192];
        var requests = 0;
        try
        {
            while (true)
            {
                var head = new StringBuilder();
                while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    if (n == 0)
                    {
                        socket.Dispose();
                        return;
                    }
                    head.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }
                if (_resetReused && ++requests > 1)
                {
                    Reset(socket);
                    return;
                }
                Interlocked.Increment(ref _served);
                await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"u8.ToArray(), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception)
        {
            socket.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
