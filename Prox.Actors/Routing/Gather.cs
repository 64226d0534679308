using Akka.Actor;

namespace Prox.Actors.Routing;

/// <summary>Asks several actors the same question and pipes one combined answer to a reply-to.</summary>
internal static class Gather
{
    /// <summary>Sends <paramref name="question"/> to every actor; when all answer, pipes
    /// <c>combine(answers)</c> (in the order of <paramref name="actors"/>) to <paramref name="replyTo"/>,
    /// or a <see cref="Status.Failure"/> if any fails or times out. Never blocks the calling actor.</summary>
    public static void AskAll<T>(IEnumerable<IActorRef> actors, object question, TimeSpan timeout,
        IActorRef replyTo, Func<T[], object> combine)
    {
        var asks = actors.Select(a => a.Ask<T>(question, timeout)).ToArray();
        Task.WhenAll(asks).ContinueWith(t => t.IsCompletedSuccessfully
                ? combine(t.Result)
                : new Status.Failure(t.Exception?.GetBaseException() ?? new TimeoutException("no answer")),
                TaskContinuationOptions.ExecuteSynchronously)
            .PipeTo(replyTo);
    }
}
