import { runAdapter } from '@app/channel-kit';
import { slackAdapter } from './slack.adapter';

void runAdapter(slackAdapter);
