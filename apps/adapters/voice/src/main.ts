import { runAdapter } from '@app/channel-kit';
import { voiceAdapter } from './voice.adapter';

void runAdapter(voiceAdapter);
