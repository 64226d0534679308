using System.Net;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>SIGHUP on the real executable reloads the config file, from the moment Prox says it is ready.</summary>
public class SighupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("prox-sighup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task SighupAsSoonAsReady_Reloads_ProcessKeepsServing()
    {
        await using var backend = await TestBackend.StartAsync("a");
        var path = Path.Combine(_dir, "prox.conf");
        File.WriteAllText(path, $$"""
            prox {
              listen = "127.0.0.1:0"
              admin.listen = "127.0.0.1:0"
              persistence.data-dir = "{{_dir}}"
              routes.r { backends = [ { url = "{{backend.Url}}" } ] }
            }
            """);
        var (prox, proxyUrl, adminUrl) = await ProxProcess.StartAsync(path);
        await using var _ = prox;
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        await ProxUnderTest.EventuallyAsync(async () =>
            (await client.GetAsync(new Uri(adminUrl, "/readyz"))).StatusCode == HttpStatusCode.OK, what: "/readyz 200");
        await prox.SignalAsync("HUP");

        await ProxUnderTest.EventuallyAsync(() => Task.FromResult(prox.Stdout.Contains("(SIGHUP)", StringComparison.Ordinal)),
            what: "the SIGHUP reload logged");
        Assert.Null(await prox.WaitForExitAsync(TimeSpan.FromMilliseconds(100)));
        using var resp = await client.GetAsync(new Uri(proxyUrl, "/"));
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
    }
}
