using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>Graceful shutdown of the real executable: SIGTERM drains in-flight requests, then the process exits 0.</summary>
public class ShutdownTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("prox-shutdown-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(Uri backend, string drainTimeout)
    {
        var path = Path.Combine(_dir, "prox.conf");
        File.WriteAllText(path, $$"""
            prox {
              listen = "127.0.0.1:0"
              admin.listen = "127.0.0.1:0"
              shutdown.drain-timeout = {{drainTimeout}}
              routes.r { backends = [ { url = "{{backend}}" } ], timeouts.request = 60s, retries.attempts = 0 }
            }
            """);
        return path;
    }

    private static async Task<bool> RefusesConnectionsAsync(Uri url)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, url.Port);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return false; // caught in the backlog while the listener closed: ask again
        }
    }

    [Fact]
    public async Task Sigterm_RequestInFlight_CompletesWithFullBody_NewConnectionsRefused_ExitsZero()
    {
        var body = new string('x', 100_000) + "end";
        await using var backend = await TestBackend.StartAsync("slow", async ctx =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(2500)); // a slow backend, not a wait for state
            await ctx.Response.WriteAsync(body);
        });
        var (prox, proxyUrl, _) = await ProxProcess.StartAsync(Config(backend.Url, "10s"));
        await using var _ = prox;
        using var client = new HttpClient { BaseAddress = proxyUrl, Timeout = TimeSpan.FromSeconds(30) };

        var inFlight = client.GetAsync("/slow");
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(backend.Hits >= 1), what: "request reached the backend");
        await prox.SignalAsync("TERM");

        await ProxUnderTest.EventuallyAsync(() => RefusesConnectionsAsync(proxyUrl), what: "new connections refused");
        Assert.False(inFlight.IsCompleted, "the slow request should still be in flight when the listener closes");
        using var resp = await inFlight;
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal(body, await resp.Content.ReadAsStringAsync());
        Assert.Equal(0, await prox.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        var log = prox.Stdout;
        var draining = log.IndexOf("Shutting down: draining 1 in-flight requests (up to 10 s)", StringComparison.Ordinal);
        var actorsStop = log.IndexOf("CoordinatedShutdown invoked", StringComparison.Ordinal);
        var stopped = log.IndexOf("Stopped", StringComparison.Ordinal);
        Assert.True(draining >= 0 && actorsStop > draining && stopped > actorsStop,
            $"expected drain, then CoordinatedShutdown, then Stopped:\n{log}");
        Assert.DoesNotContain("did not terminate", log);
    }

    [Fact]
    public async Task Sigterm_DrainTimeoutExceeded_ExitsZeroInTime_HungClientConnectionEnds()
    {
        await using var backend = await TestBackend.StartAsync("hung", async ctx =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(60), ctx.RequestAborted); // hangs well past the drain timeout
            }
            catch (OperationCanceledException)
            {
                // prox gave up on us: expected
            }
        });
        var (prox, proxyUrl, _) = await ProxProcess.StartAsync(Config(backend.Url, "1s"));
        await using var _ = prox;
        using var client = new HttpClient { BaseAddress = proxyUrl, Timeout = TimeSpan.FromSeconds(60) };

        var hung = client.GetAsync("/hang");
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(backend.Hits >= 1), what: "request reached the backend");
        var signalled = Stopwatch.StartNew();
        await prox.SignalAsync("TERM");

        Assert.Equal(0, await prox.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        var exitedAfter = signalled.Elapsed;
        var ended = await Task.WhenAny(hung, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(hung, ended);
        if (hung.IsCompletedSuccessfully)
        {
            using var resp = await hung;
            Assert.NotEqual(HttpStatusCode.OK, resp.StatusCode);
        }
        else
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => hung);
        }
        Assert.True(exitedAfter >= TimeSpan.FromSeconds(0.9), $"exited after {exitedAfter}, before the drain timeout");
        Assert.True(exitedAfter < TimeSpan.FromSeconds(11), $"exited after {exitedAfter}");
        Assert.Contains("Stopped", prox.Stdout);
        Assert.DoesNotContain("did not terminate", prox.Stdout);
    }

    [Fact]
    public async Task SecondSigint_WhileDraining_ExitsAtOnce()
    {
        await using var backend = await TestBackend.StartAsync("hung", async ctx =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(60), ctx.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // prox went away: expected
            }
        });
        var (prox, proxyUrl, _) = await ProxProcess.StartAsync(Config(backend.Url, "60s"));
        await using var _ = prox;
        using var client = new HttpClient { BaseAddress = proxyUrl, Timeout = TimeSpan.FromSeconds(60) };
        var hung = client.GetAsync("/hang");
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(backend.Hits >= 1), what: "request reached the backend");

        await prox.SignalAsync("INT");
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(prox.Stdout.Contains("Shutting down")), what: "draining");
        await prox.SignalAsync("INT");

        var code = await prox.WaitForExitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(code);
        Assert.NotEqual(0, code);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => hung);
    }
}
