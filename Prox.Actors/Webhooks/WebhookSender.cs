using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Prox.Actors.Webhooks;

/// <summary>What one POST came to: the status (0 when there was none) and, on failure, why.</summary>
public sealed record WebhookResponse(int Status, string? Error)
{
    public bool Ok => Status is >= 200 and <= 299;
}

/// <summary>Sends one webhook request. The Notifier calls it off its own thread and pipes the answer back;
/// tests substitute a scripted sender to drive the actor in virtual time.</summary>
public interface IWebhookSender
{
    /// <summary>Never throws: transport failures and timeouts come back as a response with status 0.</summary>
    Task<WebhookResponse> SendAsync(WebhookRequest request);
}

/// <summary>POSTs with its own connection pool; the request's timeout bounds the whole exchange.</summary>
public sealed class HttpWebhookSender : IWebhookSender, IDisposable
{
    private readonly HttpClient _client = Net.OwnHttp.CreateClient(TimeSpan.FromSeconds(10));

    public async Task<WebhookResponse> SendAsync(WebhookRequest request)
    {
        using var cts = new CancellationTokenSource(request.Timeout);
        try
        {
            using var msg = new HttpRequestMessage(HttpMethod.Post, StripUserInfo(request.Url));
            msg.Headers.UserAgent.ParseAdd("prox-webhooks/1");
            if (request.Url.UserInfo.Length > 0)
                msg.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                    Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(request.Url.UserInfo))));
            msg.Content = new ByteArrayContent(request.Body);
            msg.Content.Headers.ContentType = new MediaTypeHeaderValue(WebhookRequest.ContentType);
            foreach (var (name, value) in request.Headers)
                msg.Headers.TryAddWithoutValidation(name, value);
            using var resp = await _client.SendAsync(msg, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var status = (int)resp.StatusCode;
            return new WebhookResponse(status, status is >= 200 and <= 299 ? null : $"HTTP {status}");
        }
        catch (OperationCanceledException)
        {
            return new WebhookResponse(0, $"no answer within {request.Timeout.TotalMilliseconds:0} ms");
        }
        catch (HttpRequestException e)
        {
            return new WebhookResponse(0, Net.OwnHttp.Describe(e));
        }
        catch (IOException e)
        {
            return new WebhookResponse(0, e.Message);
        }
    }

    private static Uri StripUserInfo(Uri url) =>
        url.UserInfo.Length == 0 ? url : new UriBuilder(url) { UserName = "", Password = "" }.Uri;

    public void Dispose() => _client.Dispose();
}
