/** A conversation's channel, as a small labelled badge (colour keyed by channel in the stylesheet). */
export function ChannelBadge({ channel }: { channel: string }) {
  return (
    <span className={`badge channel channel-${channel}`} title={`Channel: ${channel}`}>
      {channel}
    </span>
  );
}
