using System.Text;
using Microsoft.AspNetCore.Http;
using Prox.Actors.Webhooks;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Webhooks;

/// <summary>The real sender against a real Kestrel receiver: what goes on the wire and how failures come back.</summary>
public class HttpWebhookSenderTests
{
    private static WebhookRequest Request(Uri url, TimeSpan? timeout = null) =>
        new(url, Encoding.UTF8.GetBytes("""{"id":"x"}"""), [new("Idempotency-Key", "x"), new("X-Prox-Event", "pool-down")],
            timeout ?? TimeSpan.FromSeconds(5));

    [Fact]
    public async Task SendAsync_Posts_BodyHeadersAndBasicAuthFromUserInfo()
    {
        string? body = null;
        await using var receiver = await TestBackend.StartAsync("r", async ctx =>
        {
            body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
            ctx.Response.StatusCode = 202;
        });
        using var sender = new HttpWebhookSender();

        var response = await sender.SendAsync(Request(new Uri($"http://user:p%40ss@127.0.0.1:{receiver.Port}/hook?x=1")));

        Assert.Equal(new WebhookResponse(202, null), response);
        Assert.Equal("""{"id":"x"}""", body);
        Assert.Equal(["/hook?x=1"], receiver.Paths.ToArray());
        var headers = Assert.Single(receiver.Seen);
        Assert.Equal("application/json", headers.ContentType.ToString());
        Assert.Equal("x", headers["Idempotency-Key"]);
        Assert.Equal("pool-down", headers["X-Prox-Event"]);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("user:p@ss")), headers.Authorization.ToString());
    }

    [Fact]
    public async Task SendAsync_Non2xx_NotOk()
    {
        await using var receiver = await TestBackend.StartAsync("r", ctx =>
        {
            ctx.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        using var sender = new HttpWebhookSender();

        var response = await sender.SendAsync(Request(receiver.Url));

        Assert.Equal(new WebhookResponse(500, "HTTP 500"), response);
        Assert.False(response.Ok);
    }

    [Fact]
    public async Task SendAsync_Refused_ConnectionFailed()
    {
        using var dead = new DeadPort();
        using var sender = new HttpWebhookSender();

        Assert.Equal(new WebhookResponse(0, "connection failed"), await sender.SendAsync(Request(dead.Url)));
    }

    [Fact]
    public async Task SendAsync_NoAnswerInTime_Timeout()
    {
        var release = new TaskCompletionSource();
        await using var receiver = await TestBackend.StartAsync("r", async ctx => await release.Task.WaitAsync(ctx.RequestAborted));
        using var sender = new HttpWebhookSender();

        var response = await sender.SendAsync(Request(receiver.Url, TimeSpan.FromMilliseconds(100)));
        release.SetResult();

        Assert.Equal(new WebhookResponse(0, "no answer within 100 ms"), response);
    }
}
