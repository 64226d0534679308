using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Prox.Tests.Infrastructure;

/// <summary>A real Kestrel WebSocket server on 127.0.0.1:0. Paths: <c>/echo</c> sends every frame back as it came
/// (type and fragmentation kept); <c>/close?code=N</c> closes with code N and reason "bye"; <c>/silent</c> accepts and
/// waits for the client's close; <c>/drop</c> accepts and aborts the connection 200 ms later. Anything else without an upgrade: 200 "plain".</summary>
public sealed class WebSocketBackend : IAsyncDisposable
{
    private WebApplication? _app;
    private long _upgrades;

    public int Port { get; private set; }
    public Uri Url => new($"http://127.0.0.1:{Port}");

    /// <summary>Upgrades accepted so far.</summary>
    public long Upgrades => Interlocked.Read(ref _upgrades);

    public static async Task<WebSocketBackend> StartAsync()
    {
        var b = new WebSocketBackend();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(b.HandleAsync);
        await app.StartAsync();
        b._app = app;
        b.Port = new Uri(app.Urls.First()).Port;
        return b;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        if (!ctx.WebSockets.IsWebSocketRequest)
        {
            await ctx.Response.WriteAsync("plain");
            return;
        }
        using var ws = await ctx.WebSockets.AcceptWebSocketAsync();
        Interlocked.Increment(ref _upgrades);
        var buffer = new byte[64 * 1024];
        try
        {
            switch (ctx.Request.Path.Value)
            {
                case "/echo":
                    while (true)
                    {
                        var r = await ws.ReceiveAsync(buffer, ctx.RequestAborted);
                        if (r.MessageType == WebSocketMessageType.Close)
                        {
                            await ws.CloseAsync(r.CloseStatus ?? WebSocketCloseStatus.NormalClosure, r.CloseStatusDescription, default);
                            return;
                        }
                        await ws.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, ctx.RequestAborted);
                    }
                case "/close":
                    var code = int.Parse(ctx.Request.Query["code"].ToString(), System.Globalization.CultureInfo.InvariantCulture);
                    await ws.CloseAsync((WebSocketCloseStatus)code, "bye", ctx.RequestAborted);
                    return;
                case "/drop":
                    // after the 101 has had time to reach the proxy and its client
                    await Task.Delay(200);
                    ctx.Abort();
                    return;
                default: // /silent
                    while ((await ws.ReceiveAsync(buffer, ctx.RequestAborted)).MessageType != WebSocketMessageType.Close) { }
                    return;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // the client or Prox went away
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
