using System.Net;
using Prox.Actors.Config;

namespace Prox.Hosting;

/// <summary>
/// Three small Kestrel backends for <c>prox demo</c>: a fast one, a slow one, and a flaky one that
/// answers 503 now and then and drops connections for 10 s of every 45 s, so balancing, retries and
/// ejection are visible at once.
/// </summary>
public sealed class DemoBackends : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = new();

    public static async Task<DemoBackends> StartAsync(IEnumerable<Uri> urls, CancellationToken ct = default)
    {
        var demo = new DemoBackends();
        var kinds = new[] { "fast", "slow", "flaky" };
        var i = 0;
        foreach (var url in urls)
        {
            var app = Create(url, kinds[i % kinds.Length], $"demo-{i + 1}");
            await app.StartAsync(ct);
            demo._apps.Add(app);
            i++;
        }
        return demo;
    }

    /// <summary>The backend URLs of every route in a config, deduplicated, in order.</summary>
    public static IEnumerable<Uri> UrlsOf(ProxConfig cfg) =>
        cfg.Routes.SelectMany(r => r.Backends).Select(b => b.Url).DistinctBy(u => u.Authority);

    private static WebApplication Create(Uri url, string kind, string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(url.Host == "localhost" ? "127.0.0.1" : url.Host), url.Port));
        var app = builder.Build();
        var started = DateTime.UtcNow;
        app.Run(async ctx =>
        {
            if (kind == "slow")
                await Task.Delay(Random.Shared.Next(80, 250), ctx.RequestAborted);
            if (kind == "flaky")
            {
                var phase = (DateTime.UtcNow - started).TotalSeconds % 45;
                if (phase > 35)
                {
                    ctx.Abort(); // looks like a dead server to the proxy
                    return;
                }
                if (Random.Shared.NextDouble() < 0.15)
                {
                    ctx.Response.StatusCode = 503;
                    await ctx.Response.WriteAsync($"{name} ({kind}) is having a bad moment\n");
                    return;
                }
            }
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync($"hello from {name} ({kind}) — {ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString}\n");
        });
        return app;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
