using System.Diagnostics;
using System.Net;
using System.Text;

namespace Prox.Actors.Health;

/// <summary>A probe's result plus the start of the body, for <c>expect.body-contains</c>.</summary>
public sealed record ProbeOutcome(ProbeResult Result, string? BodyPrefix);

/// <summary>Runs one health probe. The actor calls it off its own thread and pipes the outcome back;
/// tests substitute a scripted prober to drive the actor in virtual time.</summary>
public interface IHealthProber
{
    /// <summary>Never throws: failures come back as a result with <see cref="ProbeResult.Error"/> set.</summary>
    Task<ProbeOutcome> ProbeAsync(Uri backend, HealthConfig cfg, DateTimeOffset now);
}

/// <summary>
/// Probes with a plain <c>GET {backend}{path}</c> over its own connection pool (never the request
/// path's), reading at most <see cref="MaxBody"/> bytes of the body.
/// </summary>
public sealed class HttpHealthProber : IHealthProber, IDisposable
{
    public const int MaxBody = 4096;

    private readonly HttpClient _client = Net.OwnHttp.CreateClient();

    public async Task<ProbeOutcome> ProbeAsync(Uri backend, HealthConfig cfg, DateTimeOffset now)
    {
        var url = new Uri(backend.GetLeftPart(UriPartial.Path).TrimEnd('/') + cfg.Path);
        var started = Stopwatch.GetTimestamp();
        using var cts = new CancellationTokenSource(cfg.Timeout);
        try
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, url);
            req.Headers.UserAgent.ParseAdd("prox-health/1");
            using var resp = await _client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            string? body = null;
            if (cfg.Expect.BodyContains is not null)
            {
                await using var stream = await resp.Content.ReadAsStreamAsync(cts.Token);
                var buf = new byte[MaxBody];
                var read = 0;
                int n;
                while (read < buf.Length && (n = await stream.ReadAsync(buf.AsMemory(read), cts.Token)) > 0) read += n;
                body = Encoding.UTF8.GetString(buf, 0, read);
            }
            return new ProbeOutcome(new ProbeResult(now, (int)resp.StatusCode, Stopwatch.GetElapsedTime(started)), body);
        }
        catch (OperationCanceledException)
        {
            return Failed($"no answer within {cfg.Timeout.TotalMilliseconds:0} ms");
        }
        catch (HttpRequestException e)
        {
            return Failed(Net.OwnHttp.Describe(e));
        }
        catch (IOException e)
        {
            return Failed(e.Message);
        }

        ProbeOutcome Failed(string error) =>
            new(new ProbeResult(now, 0, Stopwatch.GetElapsedTime(started), error), null);
    }

    public void Dispose() => _client.Dispose();
}
