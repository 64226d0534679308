using System.Net;
using System.Net.Sockets;

namespace Prox.Tests.Infrastructure;

/// <summary>
/// A loopback URL where connections are refused, reserved for the test's lifetime: the socket is bound
/// but never listens, so the kernel refuses connects and no other (parallel) test can be given the port.
/// Stopping a started backend to get a dead port is racy: its port may be handed to another test.
/// </summary>
public sealed class DeadPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public DeadPort() => _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_socket.LocalEndPoint!).Port}");

    public void Dispose() => _socket.Dispose();
}
