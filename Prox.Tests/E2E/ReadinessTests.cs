using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>Readiness of the real executable: no 404 while the routes start, <c>/readyz</c> on the admin listener
/// 503 until ready and again from the moment a graceful shutdown starts draining.</summary>
public class ReadinessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("prox-ready-").FullName;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>One answer: when its request was sent and when the answer came, on <see cref="_clock"/>.</summary>
    private sealed record Answer(TimeSpan Sent, TimeSpan Received, HttpStatusCode Status, string? RetryAfter, string? MediaType);

    private string Config(string listen, string adminListen, Uri backend)
    {
        var path = Path.Combine(_dir, "prox.conf");
        File.WriteAllText(path, $$"""
            prox {
              listen = "{{listen}}"
              admin.listen = "{{adminListen}}"
              shutdown.drain-timeout = 10s
              routes.api { match.path-prefix = "/api", backends = [ { url = "{{backend}}" } ] }
            }
            """);
        return path;
    }

    /// <summary>A port free now: the proxy must bind a known one, as the hammering starts before the process does.</summary>
    private static int UnusedPort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    /// <summary>Sends GET <paramref name="url"/> until <paramref name="stop"/>, recording every answer; a refused
    /// connection (the process is not listening yet) is no answer.</summary>
    private async Task HammerAsync(Uri url, ConcurrentQueue<Answer> into, CancellationToken stop)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        while (!stop.IsCancellationRequested)
        {
            var sent = _clock.Elapsed;
            try
            {
                using var resp = await client.GetAsync(url, stop);
                into.Enqueue(new Answer(sent, _clock.Elapsed, resp.StatusCode,
                    resp.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(), resp.Content.Headers.ContentType?.MediaType));
            }
            catch (HttpRequestException)
            {
                await Task.Delay(5, CancellationToken.None); // not listening yet: the process is still starting
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // done
            }
        }
    }

    [Fact]
    public async Task StartUp_HammeredFromLaunch_No404_First200NotBeforeReadyzSaysReady()
    {
        await using var backend = await TestBackend.StartAsync("app");
        var (proxyPort, adminPort) = (UnusedPort(), UnusedPort());
        var proxyUrl = new Uri($"http://127.0.0.1:{proxyPort}/api/x");
        var readyzUrl = new Uri($"http://127.0.0.1:{adminPort}/readyz");
        var proxied = new ConcurrentQueue<Answer>();
        var readyz = new ConcurrentQueue<Answer>();
        using var stop = new CancellationTokenSource();
        var hammers = Enumerable.Range(0, 3).Select(_ => HammerAsync(proxyUrl, proxied, stop.Token))
            .Append(HammerAsync(readyzUrl, readyz, stop.Token)).ToArray();

        var (prox, _, _) = await ProxProcess.StartAsync(Config($"127.0.0.1:{proxyPort}", $"127.0.0.1:{adminPort}", backend.Url));
        await using var _ = prox;
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(
            proxied.Count(a => a.Status == HttpStatusCode.OK) >= 10 && readyz.Any(a => a.Status == HttpStatusCode.OK)),
            what: "the proxy and /readyz answer 200");
        await stop.CancelAsync();
        await Task.WhenAll(hammers);

        var answers = proxied.ToArray();
        var summary = string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{(int)g.Key}×{g.Count()}"));
        Assert.All(answers, a => Assert.True(a.Status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable,
            $"{(int)a.Status} at {a.Received.TotalMilliseconds:0} ms (answers: {summary})"));
        // the start-up window was actually hit: Kestrel listens before the routes have published
        var starting = answers.Where(a => a.Status == HttpStatusCode.ServiceUnavailable).ToArray();
        Assert.True(starting.Length > 0, $"no 503 while starting (answers: {summary})");
        Assert.All(starting, a => Assert.Equal(("1", "application/problem+json"), (a.RetryAfter, a.MediaType)));
        // readiness only turns on during start-up: a /readyz asked after the proxy's first 200 must say ready
        var first200 = answers.Where(a => a.Status == HttpStatusCode.OK).Min(a => a.Received);
        var lateNotReady = readyz.FirstOrDefault(a => a.Status != HttpStatusCode.OK && a.Sent > first200);
        Assert.True(lateNotReady is null,
            $"/readyz answered {lateNotReady} after the proxy's first 200 at {first200.TotalMilliseconds:0} ms");
        // and no 503 from the proxy once it served its first 200
        Assert.DoesNotContain(answers, a => a.Status != HttpStatusCode.OK && a.Sent > first200);
    }

    [Fact]
    public async Task Readyz_GracefulShutdownDraining_503()
    {
        await using var backend = await TestBackend.StartAsync("app");
        var (prox, _, adminUrl) = await ProxProcess.StartAsync(Config("127.0.0.1:0", "127.0.0.1:0", backend.Url));
        await using var _ = prox;
        using (var admin = new HttpClient { BaseAddress = adminUrl })
        using (var ready = await admin.GetAsync("/readyz"))
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        // a probe that is mid-request when the drain starts: the listener takes no new connection then, but Kestrel
        // finishes a request whose headers it is reading
        using var probe = new TcpClient();
        await probe.ConnectAsync(IPAddress.Loopback, adminUrl.Port);
        var stream = probe.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        // one whole request first (HEAD: no body to read past), so the connection is accepted and Kestrel waits on
        // its next request
        await stream.WriteAsync("HEAD /readyz HTTP/1.1\r\nHost: prox\r\n\r\n"u8.ToArray());
        Assert.StartsWith("HTTP/1.1 200", await reader.ReadLineAsync());
        while (await reader.ReadLineAsync() is { Length: > 0 })
        {
            // the headers, up to the empty line
        }
        await stream.WriteAsync("GET /readyz HTTP/1.1\r\nHost: prox\r\n"u8.ToArray());
        await prox.SignalAsync("TERM");
        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(prox.Stdout.Contains("Shutting down")), what: "draining");
        await stream.WriteAsync("\r\n"u8.ToArray());
        var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(15));

        Assert.StartsWith("HTTP/1.1 503", response);
        Assert.Contains("Content-Type: application/problem+json", response);
        Assert.Contains("shutting down", response);
        Assert.Equal(0, await prox.WaitForExitAsync(TimeSpan.FromSeconds(20)));
    }
}
