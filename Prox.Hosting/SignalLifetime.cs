using System.Runtime.InteropServices;

namespace Prox.Hosting;

/// <summary>
/// The executable's host lifetime (instead of the console one): the first SIGTERM, SIGINT (Ctrl-C) or SIGQUIT
/// starts a graceful stop; another one while draining ends the process at once.
/// </summary>
internal sealed class SignalLifetime(IHostApplicationLifetime lifetime, ILogger<SignalLifetime> log) : IHostLifetime, IDisposable
{
    private PosixSignalRegistration[] _registrations = [];
    private int _signals;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal),
        ];
        return Task.CompletedTask;
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _signals) == 1)
        {
            context.Cancel = true; // the host stops gracefully and Main returns 0
            lifetime.StopApplication();
            return;
        }
        // Cancel stays false: the runtime's default action for the signal ends the process now
        log.LogWarning("Second {Signal}: exiting without waiting for in-flight requests", context.Signal);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
    }
}
