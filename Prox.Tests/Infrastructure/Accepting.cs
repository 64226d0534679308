using System.Net.Sockets;

namespace Prox.Tests.Infrastructure;

/// <summary>The accept loop of the raw-socket test servers (<see cref="ResettingBackend"/>, <see cref="FaultRelay"/>).</summary>
internal static class Accepting
{
    /// <summary>Hands each connection <paramref name="listener"/> accepts to <paramref name="onAccepted"/> until
    /// <paramref name="stop"/> is cancelled.</summary>
    public static async Task EachAsync(TcpListener listener, CancellationToken stop, Action<Socket> onAccepted)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stop);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            onAccepted(socket);
        }
    }
}
