using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Prox.Tests.Infrastructure;

/// <summary>A real Kestrel webhook receiver on 127.0.0.1 that records every POST (headers and exact body bytes).</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public sealed record Delivery(IHeaderDictionary Headers, byte[] Body)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement;
        public string Type => Json.GetProperty("type").GetString()!;
        public string Id => Json.GetProperty("id").GetString()!;
    }

    private TestBackend _server = null!;

    private WebhookReceiver()
    {
    }

    public ConcurrentQueue<Delivery> Deliveries { get; } = new();

    public Uri Url => new(_server.Url, "/hooks/prox");

    /// <summary>Event types received, in arrival order.</summary>
    public string[] Types => Deliveries.Select(d => d.Type).ToArray();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var r = new WebhookReceiver();
        r._server = await TestBackend.StartAsync("receiver", async ctx =>
        {
            using var buffer = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(buffer);
            r.Deliveries.Enqueue(new Delivery(
                new HeaderDictionary(ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)),
                buffer.ToArray()));
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        return r;
    }

    /// <summary>Stops listening (POSTs then fail to connect); <see cref="RestartAsync"/> comes back on the same port.</summary>
    public Task StopAsync() => _server.StopAsync();

    public Task RestartAsync() => _server.RestartAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
