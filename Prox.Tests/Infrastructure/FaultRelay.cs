using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Prox.Tests.Infrastructure;

/// <summary>What <see cref="FaultRelay"/> does to the next response that starts.</summary>
public enum FaultMode
{
    /// <summary>Relays every byte as it comes.</summary>
    PassThrough,
    /// <summary>The request reaches the backend, but not a byte of its response comes back; the connection stays
    /// open until the other side closes it (a backend that hangs, or a network that drops everything).</summary>
    Blackhole,
    /// <summary>The request reaches the backend; as its response starts, the connection is reset (RST, not FIN)
    /// before a byte of the response headers comes back (a backend that crashes while handling the request).</summary>
    ResetBeforeHeaders,
    /// <summary>The response headers and <see cref="FaultRelay.BodyBytes"/> bytes of the body come back, then the
    /// connection is reset (a backend that dies while it streams).</summary>
    ResetMidBody,
    /// <summary>The response headers and <see cref="FaultRelay.BodyBytes"/> bytes of the body come back, then the
    /// connection is closed cleanly (FIN): fewer bytes than the Content-Length, or a chunked body cut off before its
    /// last chunk.</summary>
    TruncateBody,
    /// <summary>The response headers and <see cref="FaultRelay.BodyBytes"/> bytes of the body come back, then nothing
    /// more, with the connection left open (a backend that hangs while it streams).</summary>
    StallMidBody,
    /// <summary>The response headers come back at once, the body one byte at a time, <see cref="FaultRelay.DripGap"/>
    /// apart (a slow backend or a slow network that is still alive).</summary>
    SlowDrip,
}

/// <summary>
/// A fault-injecting TCP relay on 127.0.0.1 (port 0) in front of a real backend, for tests of what Prox does when a
/// backend fails in the middle of an exchange. Every accepted connection gets its own connection to the backend; the
/// relay follows the HTTP/1.1 response framing (Content-Length, chunked, 1xx, 204/304, close-delimited) so it knows
/// where each response's headers and body begin and end, and applies the <see cref="Mode"/> current when a response
/// starts to that whole response. The mode can be switched at any time; responses already under way keep theirs.
/// Requests are relayed untouched (HEAD responses are not supported: their framing headers describe no body).
/// </summary>
public sealed class FaultRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly IPEndPoint _upstream;
    private readonly Task _accepting;
    private volatile FaultMode _mode;
    private long _responses;
    private long _faults;

    /// <param name="upstream">The backend, e.g. a <see cref="TestBackend"/>'s <c>Url</c> (loopback, IP literal).</param>
    public FaultRelay(Uri upstream, FaultMode mode = FaultMode.PassThrough)
    {
        _upstream = new IPEndPoint(IPAddress.Parse(upstream.Host), upstream.Port);
        _mode = mode;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The relay's own address: configure it as the backend's URL.</summary>
    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    /// <summary>The fault applied to responses that start from now on.</summary>
    public FaultMode Mode
    {
        get => _mode;
        set => _mode = value;
    }

    /// <summary>For <see cref="FaultMode.ResetMidBody"/>, <see cref="FaultMode.TruncateBody"/> and
    /// <see cref="FaultMode.StallMidBody"/>: body bytes relayed
    /// before the fault (chunked bodies count their framing bytes too).</summary>
    public int BodyBytes { get; set; } = 100;

    /// <summary>For <see cref="FaultMode.SlowDrip"/>: the silence before each body byte.</summary>
    public TimeSpan DripGap { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Responses that started (whatever became of them).</summary>
    public long Responses => Interlocked.Read(ref _responses);

    /// <summary>Responses a fault was applied to (every mode but <see cref="FaultMode.PassThrough"/>).</summary>
    public long Faults => Interlocked.Read(ref _faults);

    private Task AcceptAsync() => Accepting.EachAsync(_listener, _stop.Token, client => _ = RelayAsync(client));

    private async Task RelayAsync(Socket client)
    {
        var backend = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        _open[client] = 0;
        _open[backend] = 0;
        try
        {
            await backend.ConnectAsync(_upstream, _stop.Token);
            // each pump ends on its own: a reset or a close of one side ends the other's reads too
            await Task.WhenAll(PumpRequestsAsync(client, backend), PumpResponsesAsync(backend, client));
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // the backend refused, or the relay is stopping: the client sees its connection end
        }
        finally
        {
            _open.TryRemove(client, out _);
            _open.TryRemove(backend, out _);
            client.Dispose();
            backend.Dispose();
        }
    }

    private async Task PumpRequestsAsync(Socket client, Socket backend)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    backend.Shutdown(SocketShutdown.Send);
                    return;
                }
                await backend.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // either side went away (or a fault reset the client side): the exchange is over
            backend.Dispose();
        }
    }

    private async Task PumpResponsesAsync(Socket backend, Socket client)
    {
        var buffer = new byte[16 * 1024];
        var framing = new ResponseFraming();
        var pending = new MemoryStream();
        var mode = FaultMode.PassThrough;
        var body = 0;
        try
        {
            while (true)
            {
                var n = await backend.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    client.Shutdown(SocketShutdown.Send); // the backend closed: so does the relay, cleanly
                    return;
                }
                for (var i = 0; i < n; i++)
                {
                    if (framing.AtStart)
                    {
                        mode = _mode;
                        body = 0;
                        Interlocked.Increment(ref _responses);
                        if (mode != FaultMode.PassThrough) Interlocked.Increment(ref _faults);
                        if (mode == FaultMode.Blackhole) return; // nothing more goes back; the request pump lives on
                        if (mode == FaultMode.ResetBeforeHeaders)
                        {
                            Reset(client);
                            return;
                        }
                    }
                    var inBody = framing.Next(buffer[i]);
                    if (!inBody || mode == FaultMode.PassThrough)
                    {
                        pending.WriteByte(buffer[i]);
                        continue;
                    }
                    if (mode == FaultMode.SlowDrip)
                    {
                        await FlushAsync(client, pending);
                        await Task.Delay(DripGap, _stop.Token);
                        await client.SendAsync(buffer.AsMemory(i, 1), SocketFlags.None, _stop.Token);
                        continue;
                    }
                    if (body++ < BodyBytes)
                    {
                        pending.WriteByte(buffer[i]);
                        continue;
                    }
                    await FlushAsync(client, pending);
                    if (mode == FaultMode.StallMidBody) return; // the request pump lives on until the client closes
                    // let the bytes sent reach the reader first: a reset can discard data still in flight
                    await Task.Delay(50, _stop.Token);
                    if (mode == FaultMode.ResetMidBody)
                        Reset(client);
                    else
                        client.Shutdown(SocketShutdown.Send);
                    backend.Dispose();
                    return;
                }
                await FlushAsync(client, pending);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            client.Dispose();
        }
    }

    private async Task FlushAsync(Socket client, MemoryStream pending)
    {
        if (pending.Length == 0) return;
        await client.SendAsync(pending.GetBuffer().AsMemory(0, (int)pending.Length), SocketFlags.None, _stop.Token);
        pending.SetLength(0);
    }

    private static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0); // close with RST, not FIN
        socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        foreach (var socket in _open.Keys)
            socket.Dispose();
        _stop.Dispose();
    }
}
