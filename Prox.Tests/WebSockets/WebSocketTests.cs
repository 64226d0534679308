using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Prox.Tests.Infrastructure;
using Prox.Tests.Tls;
using Xunit;

namespace Prox.Tests.WebSockets;

/// <summary>WebSockets through a real Prox to a real Kestrel WebSocket server: echo of every kind of message, close
/// codes, many sockets at once, the idle timeout, the per-route switch and cap, no retry after the 101, and RFC 8441
/// (WebSockets over HTTP/2) to an HTTP/1.1 backend.</summary>
public sealed class WebSocketTests : IAsyncLifetime
{
    private WebSocketBackend _backend = null!;

    public async Task InitializeAsync() => _backend = await WebSocketBackend.StartAsync();

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    private string Route(string extra = "") =>
        $$"""routes.ws { match.path-prefix = "/", backends = [ { url = "{{_backend.Url}}" } ] {{extra}} }""";

    private static Uri WsUrl(ProxUnderTest prox, string path) => new($"ws://{prox.ProxyUrl.Authority}{path}");

    private static async Task<ClientWebSocket> ConnectAsync(ProxUnderTest prox, string path, Action<ClientWebSocketOptions>? options = null)
    {
        var ws = new ClientWebSocket();
        options?.Invoke(ws.Options);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ws.ConnectAsync(WsUrl(prox, path), cts.Token);
        return ws;
    }

    private static async Task<(WebSocketMessageType Type, byte[] Data, int Frames)> ReceiveMessageAsync(WebSocket ws)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        var frames = 0;
        while (true)
        {
            var r = await ws.ReceiveAsync(buffer, cts.Token);
            frames++;
            if (r.MessageType == WebSocketMessageType.Close) return (r.MessageType, [], frames);
            message.Write(buffer, 0, r.Count);
            if (r.EndOfMessage) return (r.MessageType, message.ToArray(), frames);
        }
    }

    [Fact]
    public async Task Echo_Text_OneMiBBinary_Fragmented_PingPong_NormalClose()
    {
        await using var prox = await ProxUnderTest.StartAsync(Route());
        using var ws = await ConnectAsync(prox, "/echo", o =>
        {
            // pings every 100 ms, each answered by the backend's pong through Prox, or the socket fails after 1 s
            o.KeepAliveInterval = TimeSpan.FromMilliseconds(100);
            o.KeepAliveTimeout = TimeSpan.FromSeconds(1);
        });

        await ws.SendAsync("héllo"u8.ToArray(), WebSocketMessageType.Text, true, default);
        var text = await ReceiveMessageAsync(ws);
        Assert.Equal(WebSocketMessageType.Text, text.Type);
        Assert.Equal("héllo", Encoding.UTF8.GetString(text.Data));

        var big = new byte[1024 * 1024];
        Random.Shared.NextBytes(big);
        await ws.SendAsync(big, WebSocketMessageType.Binary, true, default);
        var binary = await ReceiveMessageAsync(ws);
        Assert.Equal(WebSocketMessageType.Binary, binary.Type);
        Assert.Equal(big, binary.Data);

        // one message in three frames
        await ws.SendAsync("one-"u8.ToArray(), WebSocketMessageType.Text, false, default);
        await ws.SendAsync("two-"u8.ToArray(), WebSocketMessageType.Text, false, default);
        await ws.SendAsync("three"u8.ToArray(), WebSocketMessageType.Text, true, default);
        var fragmented = await ReceiveMessageAsync(ws);
        Assert.Equal("one-two-three", Encoding.UTF8.GetString(fragmented.Data));
        Assert.True(fragmented.Frames >= 1);

        // no message for longer than the keep-alive timeout, but pinged (the client reads pongs while a receive waits):
        // every pong came back through Prox
        var buffer = new byte[16];
        var pending = ws.ReceiveAsync(buffer, default);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(WebSocketState.Open, ws.State);
        await ws.SendAsync("still"u8.ToArray(), WebSocketMessageType.Text, true, default);
        var still = await pending.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("still", Encoding.UTF8.GetString(buffer, 0, still.Count));

        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", default);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
        Assert.Equal("done", ws.CloseStatusDescription);
    }

    [Theory]
    [InlineData(1001)]
    [InlineData(4001)]
    public async Task ServerCloseCode_ReachesTheClient(int code)
    {
        await using var prox = await ProxUnderTest.StartAsync(Route());
        using var ws = await ConnectAsync(prox, $"/close?code={code}");
        var r = await ReceiveMessageAsync(ws);
        Assert.Equal(WebSocketMessageType.Close, r.Type);
        Assert.Equal((WebSocketCloseStatus)code, ws.CloseStatus);
        Assert.Equal("bye", ws.CloseStatusDescription);
    }

    [Fact]
    public async Task TwoHundredSockets_AtOnce_CountedOnStatus_ThenBackToZero()
    {
        await using var prox = await ProxUnderTest.StartAsync(Route());
        var sockets = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => ConnectAsync(prox, "/echo")));
        await Task.WhenAll(sockets.Select(async (ws, i) =>
        {
            await ws.SendAsync(Encoding.UTF8.GetBytes($"m{i}"), WebSocketMessageType.Text, true, default);
            Assert.Equal($"m{i}", Encoding.UTF8.GetString((await ReceiveMessageAsync(ws)).Data));
        }));

        var route = Route(await prox.StatusAsync());
        Assert.Equal(200, route.GetProperty("webSockets").GetInt32());
        Assert.Equal(200, route.GetProperty("backends")[0].GetProperty("webSockets").GetInt32());

        await Task.WhenAll(sockets.Select(ws => ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, default)));
        foreach (var ws in sockets) ws.Dispose();
        await ProxUnderTest.EventuallyAsync(async () =>
        {
            var r = Route(await prox.StatusAsync());
            return r.GetProperty("webSockets").GetInt32() == 0 && r.GetProperty("backends")[0].GetProperty("webSockets").GetInt32() == 0;
        }, TimeSpan.FromSeconds(10), "every socket counted closed");
    }

    private static JsonElement Route(JsonElement status) =>
        status.GetProperty("routes").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "ws");

    [Fact]
    public async Task IdleTimeout_ClosesASilentSocket_AnActiveOneOutlivesTheRequestTimeout()
    {
        await using var prox = await ProxUnderTest.StartAsync(Route(
            ", timeouts { request = 500ms, idle = 500ms }, websocket { idle-timeout = 1s }"));
        using var active = await ConnectAsync(prox, "/echo");
        using var silent = await ConnectAsync(prox, "/silent");
        var silentEnded = ReceiveUntilEndAsync(silent);

        var started = DateTime.UtcNow;
        while (DateTime.UtcNow - started < TimeSpan.FromSeconds(2.5))
        {
            await active.SendAsync("tick"u8.ToArray(), WebSocketMessageType.Text, true, default);
            Assert.Equal("tick", Encoding.UTF8.GetString((await ReceiveMessageAsync(active)).Data));
            await Task.Delay(300);
        }
        Assert.Equal(WebSocketState.Open, active.State);
        var silentLived = await silentEnded.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(silentLived, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(5));
    }

    /// <summary>How long <paramref name="ws"/> lasted until it ended (closed or broken).</summary>
    private static async Task<TimeSpan> ReceiveUntilEndAsync(WebSocket ws)
    {
        var started = DateTime.UtcNow;
        try
        {
            while ((await ws.ReceiveAsync(new byte[16], default)).MessageType != WebSocketMessageType.Close) { }
        }
        catch (WebSocketException)
        {
            // cut: the expected end
        }
        return DateTime.UtcNow - started;
    }

    [Fact]
    public async Task Disabled_NeverAnswers101_PlainRequestsStillGo()
    {
        await using var prox = await ProxUnderTest.StartAsync(Route(", websocket.enabled = false"));
        var e = await Assert.ThrowsAsync<WebSocketException>(() => ConnectAsync(prox, "/echo"));
        Assert.Contains("400", e.Message);

        using var upgrade = new HttpRequestMessage(HttpMethod.Get, "/echo");
        upgrade.Headers.Connection.Add("Upgrade");
        upgrade.Headers.Upgrade.Add(new System.Net.Http.Headers.ProductHeaderValue("websocket"));
        upgrade.Headers.Add("Sec-WebSocket-Version", "13");
        upgrade.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(new byte[16]));
        using var response = await prox.Client.SendAsync(upgrade);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("websocket.enabled = false", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, _backend.Upgrades);
        Assert.Equal("plain", await prox.Client.GetStringAsync("/anything"));
    }

    [Fact]
    public async Task MaxConnections_TheNextUpgradeGets503_ARoomFreedIsUsable()
    {
        await using var prox = await ProxUnderTest.StartAsync(Route(", websocket.max-connections = 2"));
        var first = await ConnectAsync(prox, "/echo");
        using var second = await ConnectAsync(prox, "/echo");
        var e = await Assert.ThrowsAsync<WebSocketException>(() => ConnectAsync(prox, "/echo"));
        Assert.Contains("503", e.Message);

        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, null, default);
        first.Dispose();
        await ProxUnderTest.EventuallyAsync(async () =>
        {
            try
            {
                using var third = await ConnectAsync(prox, "/echo");
                return true;
            }
            catch (WebSocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(10), "a socket closed frees its room");
    }

    [Fact]
    public async Task BackendDropsTheSocketAfter101_NotRetried_TheClientSeesItEnd()
    {
        await using var other = await WebSocketBackend.StartAsync();
        await using var prox = await ProxUnderTest.StartAsync($$"""
            routes.ws { match.path-prefix = "/", retries { attempts = 3, on = [connect-failure, 502, 503] },
                        backends = [ { url = "{{_backend.Url}}" }, { url = "{{other.Url}}" } ] }
            """);
        using var ws = await ConnectAsync(prox, "/drop");
        await ReceiveUntilEndAsync(ws).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, _backend.Upgrades + other.Upgrades);
    }

    [Fact]
    public async Task OverHttp2_ExtendedConnect_ToAnHttp1Backend()
    {
        using var certs = new TempDataDir();
        var (crt, key) = TestCertificates.Write(TestCertificates.Create(["ws.test"]), certs.Path, "ws");
        await using var prox = await ProxUnderTest.StartAsync($$"""
            listen = [ "127.0.0.1:0", { address = "127.0.0.1:0", tls { certificate = "{{crt}}", key = "{{key}}" } } ]
            {{Route()}}
            """);
        var tlsUrl = prox.Host.ProxyUrls.Single(u => u.Scheme == "https");
        var seen = new List<X509Certificate2>();
        using var ws = new ClientWebSocket();
        ws.Options.HttpVersion = HttpVersion.Version20;
        ws.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        await ws.ConnectAsync(new Uri($"wss://ws.test:{tlsUrl.Port}/echo"), new HttpMessageInvoker(TestCertificates.Handler(tlsUrl, "ws.test", seen)), default);

        await ws.SendAsync("over h2"u8.ToArray(), WebSocketMessageType.Text, true, default);
        Assert.Equal("over h2", Encoding.UTF8.GetString((await ReceiveMessageAsync(ws)).Data));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, default);
        Assert.Equal(1, _backend.Upgrades);
    }
}
