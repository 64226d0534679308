using System.Collections.Immutable;
using System.Text;
using Prox.Actors.Events;
using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Webhooks;

public class WebhookPayloadTests
{
    private static readonly ProxEvent Down = new("019ac2f1c3a0-5f3e2a1b", new DateTimeOffset(2026, 11, 26, 10, 14, 50, 120, TimeSpan.Zero),
        ProxEventKinds.BackendDown, "api", "b1", "3 failed health checks in a row (last: connection failed)");

    private static WebhookConfig Hook(WebhookFormat format = WebhookFormat.Json, string? secret = null) =>
        new("ops", new Uri("https://hooks.example.com/prox"), null, secret, format, TimeSpan.FromSeconds(10),
            WebhookConfig.DefaultBackoff, WebhookConfig.DefaultMaxBackoff, WebhookConfig.DefaultMaxPending);

    [Fact]
    public void Body_Json_CamelCaseEventFields()
    {
        var body = Encoding.UTF8.GetString(WebhookPayload.Body(Down, WebhookFormat.Json));

        Assert.Equal("""{"id":"019ac2f1c3a0-5f3e2a1b","timestamp":"2026-11-26T10:14:50.12+00:00","type":"backend-down","route":"api","backend":"b1","detail":"3 failed health checks in a row (last: connection failed)"}""", body);
    }

    [Fact]
    public void Body_JsonWithoutBackend_NullBackend()
    {
        var pool = Down with { Kind = ProxEventKinds.PoolDown, Backend = null, Detail = "no eligible backend" };

        var body = Encoding.UTF8.GetString(WebhookPayload.Body(pool, WebhookFormat.Json));

        Assert.Contains("\"backend\":null", body);
        Assert.Contains("\"type\":\"pool-down\"", body);
    }

    [Fact]
    public void Body_JsonFromClusterNode_NodeLast()
    {
        var body = Encoding.UTF8.GetString(WebhookPayload.Body(Down with { Node = "akka.tcp://prox@10.0.0.2:4053" }, WebhookFormat.Json));

        Assert.EndsWith(""","detail":"3 failed health checks in a row (last: connection failed)","node":"akka.tcp://prox@10.0.0.2:4053"}""", body);
    }

    [Fact]
    public void Body_SlackFromClusterNode_NamesNode()
    {
        var e = Down with { Detail = "why", Node = "akka.tcp://prox@10.0.0.2:4053" };

        Assert.Equal("""{"text":"[prox] backend-down (route api, backend b1) on akka.tcp://prox@10.0.0.2:4053: why"}""",
            Encoding.UTF8.GetString(WebhookPayload.Body(e, WebhookFormat.Slack)));
    }

    [Theory]
    [InlineData("api", "b1", """{"text":"[prox] backend-down (route api, backend b1): why"}""")]
    [InlineData("api", null, """{"text":"[prox] backend-down (route api): why"}""")]
    [InlineData(null, null, """{"text":"[prox] backend-down (prox): why"}""")]
    public void Body_Slack_TextOnly(string? route, string? backend, string expected)
    {
        var e = Down with { Route = route, Backend = backend, Detail = "why" };

        Assert.Equal(expected, Encoding.UTF8.GetString(WebhookPayload.Body(e, WebhookFormat.Slack)));
    }

    [Fact]
    public void Build_WithSecret_HeadersAndSignatureOfExactBody()
    {
        var request = WebhookPayload.Build(Hook(secret: "s"), Down, attempt: 3);

        var headers = request.Headers.ToImmutableDictionary(h => h.Key, h => h.Value);
        Assert.Equal(Down.Id, headers["Idempotency-Key"]);
        Assert.Equal("backend-down", headers["X-Prox-Event"]);
        Assert.Equal("3", headers["X-Prox-Delivery-Attempt"]);
        Assert.Equal(WebhookSignature.Sign("s", request.Body), headers["X-Prox-Signature"]);
        Assert.True(WebhookSignature.Verify("s", request.Body, headers["X-Prox-Signature"]));
        Assert.Equal(TimeSpan.FromSeconds(10), request.Timeout);
    }

    [Fact]
    public void Build_WithoutSecret_NoSignature()
    {
        var request = WebhookPayload.Build(Hook(), Down, attempt: 1);

        Assert.DoesNotContain(request.Headers, h => h.Key == "X-Prox-Signature");
    }

    [Fact]
    public void Build_Slack_SameHeaders()
    {
        var request = WebhookPayload.Build(Hook(WebhookFormat.Slack, "s"), Down, attempt: 1);

        Assert.StartsWith("{\"text\":", Encoding.UTF8.GetString(request.Body));
        Assert.Contains(request.Headers, h => h.Key == "X-Prox-Signature");
        Assert.Contains(request.Headers, h => h.Key == "Idempotency-Key" && h.Value == Down.Id);
    }

    [Fact]
    public void WebhookConfig_ToString_NeverShowsSecretOrUserInfo()
    {
        var hook = Hook(secret: "top-secret") with { Url = new Uri("https://user:pw@hooks.example.com/x") };

        var text = hook.ToString();

        Assert.DoesNotContain("top-secret", text);
        Assert.DoesNotContain("pw", text);
        Assert.Equal("https://hooks.example.com/x", hook.DisplayUrl);
    }
}
