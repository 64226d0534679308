using System.Net.Http.Json;
using System.Text.Json;
using Prox.Actors.Config;
using Prox.Hosting;
using Serilog.Events;

namespace Prox.Tests.Infrastructure;

/// <summary>A real Prox (Kestrel + actors + YARP) in this process, on 127.0.0.1 port 0 for proxy and admin.</summary>
public sealed class ProxUnderTest : IAsyncDisposable
{
    private ProxUnderTest(ProxHost host)
    {
        Host = host;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = host.ProxyUrls[0],
            Timeout = TimeSpan.FromSeconds(30),
        };
        Admin = new HttpClient { BaseAddress = host.AdminUrls[0], Timeout = TimeSpan.FromSeconds(10) };
    }

    public ProxHost Host { get; }
    public HttpClient Client { get; }
    public HttpClient Admin { get; }
    public Uri ProxyUrl => Host.ProxyUrls[0];

    /// <summary>Starts Prox on <paramref name="hocon"/>, which should contain only the <c>routes { … }</c>
    /// (and any other prox keys); listen addresses are added here.</summary>
    public static async Task<ProxUnderTest> StartAsync(string hocon)
    {
        var text = $$"""
            prox {
              listen = "127.0.0.1:0"
              admin.listen = "127.0.0.1:0"
              {{hocon}}
            }
            """;
        var parsed = ProxConfigParser.ParseText(text);
        if (!parsed.IsValid)
            throw new InvalidOperationException("test config invalid:\n" + string.Join("\n", parsed.Errors));
        var host = ProxHost.Create(parsed.Config!, LogEventLevel.Warning);
        await host.StartAsync();
        return new ProxUnderTest(host);
    }

    public async Task<JsonElement> StatusAsync()
    {
        var doc = await Admin.GetFromJsonAsync<JsonElement>("/status");
        return doc;
    }

    public async Task<JsonElement> BackendStatusAsync(string route, string backendId)
    {
        var status = await StatusAsync();
        return status.GetProperty("routes").EnumerateArray().Single(r => r.GetProperty("name").GetString() == route)
            .GetProperty("backends").EnumerateArray().Single(b => b.GetProperty("id").GetString() == backendId);
    }

    /// <summary>Polls until <paramref name="condition"/> holds or the deadline passes (then fails the test).</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan? within = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(25);
        }
        throw new Xunit.Sdk.XunitException($"condition not met in time: {what}");
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Admin.Dispose();
        await Host.DisposeAsync();
    }
}
