using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Prox.Tests.Infrastructure;

/// <summary>A real Kestrel backend on 127.0.0.1 (port 0 on first start; the same port on restart).</summary>
public sealed class TestBackend : IAsyncDisposable
{
    private readonly RequestDelegate _handler;
    private WebApplication? _app;
    private long _hits;

    private TestBackend(string name, RequestDelegate handler)
    {
        Name = name;
        _handler = handler;
    }

    public string Name { get; }
    public int Port { get; private set; }
    public Uri Url => new($"http://127.0.0.1:{Port}");
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>True between a (re)start and a stop.</summary>
    public bool IsRunning => Volatile.Read(ref _app) is not null;

    /// <summary>Request headers of every request received, newest last.</summary>
    public ConcurrentQueue<IHeaderDictionary> Seen { get; } = new();

    public ConcurrentQueue<string> Paths { get; } = new();

    public static Task<TestBackend> StartAsync(string name, RequestDelegate? handler = null) =>
        StartAsync(name, handler ?? (ctx => ctx.Response.WriteAsync($"hello from {name}")), 0);

    private static async Task<TestBackend> StartAsync(string name, RequestDelegate handler, int port)
    {
        var b = new TestBackend(name, handler);
        await b.StartOnAsync(port);
        return b;
    }

    private async Task StartOnAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Listen(IPAddress.Loopback, port);
        });
        var app = builder.Build();
        app.Run(ctx =>
        {
            Interlocked.Increment(ref _hits);
            Seen.Enqueue(new HeaderDictionary(ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)));
            Paths.Enqueue(ctx.Request.Path + ctx.Request.QueryString);
            return _handler(ctx);
        });
        await app.StartAsync();
        _app = app;
        Port = new Uri(app.Urls.First()).Port;
    }

    public async Task StopAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    /// <summary>Starts again on the same port, as a restarted server would.</summary>
    public Task RestartAsync() => StartOnAsync(Port);

    public async ValueTask DisposeAsync() => await StopAsync();
}
